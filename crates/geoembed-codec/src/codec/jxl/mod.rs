//! Lossless JPEG XL back-end: all channels of a tile in JPEG XL codestreams.
//!
//! Each codestream holds one grey "colour" channel plus extra channels, all at the same
//! bit depth. We bind libjxl's C API ourselves (in `ffi.rs`) instead of using jpegxl-rs:
//! that crate is GPL and cannot encode extra channels.
//!
//! Extra channels are declared `JXL_CHANNEL_OPTIONAL`: it has no rendering semantics, so
//! neither side may premultiply, blend or colour-convert it (alpha would invite all three);
//! the decoder hands it back verbatim.
//!
//! One codestream can only carry [`MAX_CHANNELS_PER_CODESTREAM`] channels, so larger tiles
//! are split into channel groups, each its own codestream. The framing around them is
//! `[u32 LE group count]` then per group `[u32 LE channels][u32 LE byte length][bytes]`; it
//! is written even for a single group so the payload format never depends on the channel
//! count, and the decoder can check every group boundary before libjxl sees a byte.
//!
//! Everything runs single-threaded (no parallel runner): the caller parallelises across
//! tiles, and libjxl's single-threaded output is deterministic.

mod ffi;

use std::ffi::c_void;
use std::ptr;

use crate::error::{Error, Result};

/// Unsigned planar samples: plane c occupies [c*w*h .. (c+1)*w*h), row-major.
#[derive(Clone, Copy, Debug)]
pub(super) enum Planes<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
}

/// Decoded planes, same layout as [`Planes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PlanesOut {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// Largest number of channels put in one codestream: 1 grey + 256 extra channels.
///
/// 256 extra channels is the codestream level 10 limit, and libjxl 0.7 enforces it:
/// `JxlEncoderSetBasicInfo` refuses 257 extra channels ("Too many extra channels").
/// Up to the limit, single codestreams round-trip bit-exactly; this was checked with
/// 127..=257 channels at 8 and 16 bits, efforts 1, 3, 7 and 9, from 1x1 to 300x260 pixels
/// (several modular groups). The `codestream_channel_limit` test pins both sides.
/// (An earlier note claimed only 127 extra channels survive; that does not reproduce.)
pub(super) const MAX_CHANNELS_PER_CODESTREAM: usize = 1 + 256;

/// Lossless JPEG XL of `channels` planes (bits 8 for U8, 16 for U16). Effort 1..=9.
/// Output is self-delimiting: if `channels` exceeds what one libjxl codestream can carry
/// losslessly, split into channel groups, each its own codestream, framed as
/// [u32 LE group count][for each group: u32 LE channels in group, u32 LE byte length, bytes].
/// Use the same framing even for a single group (count = 1), so the format is uniform.
pub(super) fn encode(
    planes: Planes,
    width: usize,
    height: usize,
    channels: usize,
    effort: u32,
) -> Result<Vec<u8>> {
    if width == 0 || height == 0 || channels == 0 {
        return Err(Error::invalid(format!(
            "JPEG XL: empty raster {width}x{height}x{channels}"
        )));
    }
    if u32::try_from(width).is_err() || u32::try_from(height).is_err() {
        return Err(Error::invalid(format!(
            "JPEG XL: raster {width}x{height} too large"
        )));
    }
    if !(1..=9).contains(&effort) {
        return Err(Error::invalid(format!(
            "JPEG XL: effort {effort} outside 1..=9"
        )));
    }
    let plane_len = width
        .checked_mul(height)
        .ok_or_else(|| Error::invalid("JPEG XL: raster size overflows"))?;
    let expected = plane_len
        .checked_mul(channels)
        .ok_or_else(|| Error::invalid("JPEG XL: raster size overflows"))?;
    if planes.len() != expected {
        return Err(Error::invalid(format!(
            "JPEG XL: {} samples given, {width}x{height}x{channels} needs {expected}",
            planes.len()
        )));
    }

    let groups = group_sizes(channels);
    let mut out = Vec::new();
    out.extend_from_slice(&(groups.len() as u32).to_le_bytes());
    let mut first = 0;
    for &n in &groups {
        let group = planes.sub(first * plane_len, n * plane_len);
        let stream = encode_codestream(group, width, height, n, effort)?;
        let len = u32::try_from(stream.len())
            .map_err(|_| Error::invalid("JPEG XL: codestream longer than 4 GiB"))?;
        out.extend_from_slice(&(n as u32).to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&stream);
        first += n;
    }
    Ok(out)
}

/// Inverse; `width`, `height`, `channels` and `bits` (8 or 16) are known from the container,
/// so check the decoded basic info against them and return Error::corrupt on any mismatch
/// (dimensions, channel count, bit depth) rather than trusting the stream.
pub(super) fn decode(
    bytes: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    bits: u32,
) -> Result<PlanesOut> {
    if width == 0 || height == 0 || channels == 0 {
        return Err(Error::invalid(format!(
            "JPEG XL: empty raster {width}x{height}x{channels}"
        )));
    }
    if bits != 8 && bits != 16 {
        return Err(Error::invalid(format!(
            "JPEG XL: bit depth {bits} is not 8 or 16"
        )));
    }
    let total = width
        .checked_mul(height)
        .and_then(|p| p.checked_mul(channels))
        .ok_or_else(|| Error::invalid("JPEG XL: raster size overflows"))?;
    let plane_len = width * height;

    // Parse and check the whole framing before allocating or calling libjxl.
    let mut reader = Reader { bytes, pos: 0 };
    let count = reader.u32("group count")? as usize;
    if count == 0 || count > channels {
        return Err(Error::corrupt(format!(
            "JPEG XL: {count} channel groups for {channels} channels"
        )));
    }
    let mut groups = Vec::with_capacity(count.min(bytes.len() / 8));
    let mut sum = 0usize;
    for g in 0..count {
        let channel_count = reader.u32("group channel count")? as usize;
        let len = reader.u32("group byte length")? as usize;
        if channel_count == 0
            || channel_count > MAX_CHANNELS_PER_CODESTREAM
            || channel_count > channels - sum
        {
            return Err(Error::corrupt(format!(
                "JPEG XL: group {g} claims {channel_count} channels ({sum} of {channels} already seen)"
            )));
        }
        groups.push((channel_count, reader.take(len, "codestream")?));
        sum += channel_count;
    }
    if sum != channels {
        return Err(Error::corrupt(format!(
            "JPEG XL: groups hold {sum} channels, expected {channels}"
        )));
    }
    if reader.pos != bytes.len() {
        return Err(Error::corrupt(format!(
            "JPEG XL: {} trailing bytes after the last group",
            bytes.len() - reader.pos
        )));
    }

    let mut out = if bits == 8 {
        PlanesOut::U8(vec![0; total])
    } else {
        PlanesOut::U16(vec![0; total])
    };
    let mut first = 0;
    for (g, &(channel_count, stream)) in groups.iter().enumerate() {
        let range = first * plane_len..(first + channel_count) * plane_len;
        let target = match &mut out {
            PlanesOut::U8(v) => PlanesMut::U8(&mut v[range]),
            PlanesOut::U16(v) => PlanesMut::U16(&mut v[range]),
        };
        decode_codestream(stream, width, height, channel_count, target)
            .map_err(|e| e.context(format_args!("channel group {g}")))?;
        first += channel_count;
    }
    Ok(out)
}

/// Split `channels` into the fewest groups of at most [`MAX_CHANNELS_PER_CODESTREAM`],
/// as equal as possible (300 -> 150 + 150 rather than 257 + 43), so the codestreams cost
/// about the same to encode and decode and no group is a tiny leftover.
fn group_sizes(channels: usize) -> Vec<usize> {
    let count = channels.div_ceil(MAX_CHANNELS_PER_CODESTREAM);
    let (base, extra) = (channels / count, channels % count);
    (0..count).map(|i| base + usize::from(i < extra)).collect()
}

impl Planes<'_> {
    fn len(&self) -> usize {
        match self {
            Planes::U8(s) => s.len(),
            Planes::U16(s) => s.len(),
        }
    }

    fn sub(&self, start: usize, len: usize) -> Self {
        match self {
            Planes::U8(s) => Planes::U8(&s[start..start + len]),
            Planes::U16(s) => Planes::U16(&s[start..start + len]),
        }
    }

    fn bits(&self) -> u32 {
        match self {
            Planes::U8(_) => 8,
            Planes::U16(_) => 16,
        }
    }

    /// Plane `c` of `plane_len` samples as a raw byte range for libjxl.
    fn plane_raw(&self, c: usize, plane_len: usize) -> (*const c_void, usize) {
        match self {
            Planes::U8(s) => {
                let plane = &s[c * plane_len..(c + 1) * plane_len];
                (plane.as_ptr().cast(), std::mem::size_of_val(plane))
            }
            Planes::U16(s) => {
                let plane = &s[c * plane_len..(c + 1) * plane_len];
                (plane.as_ptr().cast(), std::mem::size_of_val(plane))
            }
        }
    }
}

/// Mutable view of the planes one codestream decodes into.
enum PlanesMut<'a> {
    U8(&'a mut [u8]),
    U16(&'a mut [u16]),
}

/// One sample per pixel in native byte order: how every plane crosses the C API.
fn pixel_format(bits: u32) -> ffi::JxlPixelFormat {
    ffi::JxlPixelFormat {
        num_channels: 1,
        data_type: if bits == 8 {
            ffi::JXL_TYPE_UINT8
        } else {
            ffi::JXL_TYPE_UINT16
        },
        endianness: ffi::JXL_NATIVE_ENDIAN,
        align: 0,
    }
}

/// Owns a `JxlEncoder` so it is destroyed on every return path.
struct Encoder(*mut ffi::JxlEncoder);

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: self.0 came from JxlEncoderCreate, is non-null and is destroyed once.
        unsafe { ffi::JxlEncoderDestroy(self.0) }
    }
}

impl Encoder {
    fn new() -> Result<Self> {
        // SAFETY: a null memory manager selects libjxl's default allocator.
        let raw = unsafe { ffi::JxlEncoderCreate(ptr::null()) };
        if raw.is_null() {
            return Err(Error::invalid("JPEG XL: JxlEncoderCreate failed"));
        }
        Ok(Encoder(raw))
    }

    /// Turn a libjxl status into an error: `what` names the failed call ("X failed ..."),
    /// and libjxl's error code is appended.
    fn check(&self, status: ffi::JxlEncoderStatus, what: impl FnOnce() -> String) -> Result<()> {
        if status == ffi::JXL_ENC_SUCCESS {
            return Ok(());
        }
        // SAFETY: self.0 is a live encoder.
        let code = unsafe { ffi::JxlEncoderGetError(self.0) };
        let msg = format!("JPEG XL: {} (libjxl error {code:#x})", what());
        // 0x80 = JXL_ENC_ERR_NOT_SUPPORTED; anything else is a rejected argument or state.
        Err(if code == 0x80 {
            Error::unsupported(msg)
        } else {
            Error::invalid(msg)
        })
    }

    /// Declares the image: `n` planes of `bits`-bit samples, one grey channel and `n − 1`
    /// extra channels, kept in their original space (they are data, not colour).
    fn set_image(&self, width: usize, height: usize, n: usize, bits: u32) -> Result<()> {
        // SAFETY: all-zero is a valid JxlBasicInfo (integers, floats, bytes) and makes the
        // padding initialised; JxlEncoderInitBasicInfo then writes the defaults.
        let mut info: ffi::JxlBasicInfo = unsafe { std::mem::zeroed() };
        // SAFETY: info is a valid, writable JxlBasicInfo.
        unsafe { ffi::JxlEncoderInitBasicInfo(&mut info) };
        info.xsize = width as u32;
        info.ysize = height as u32;
        info.bits_per_sample = bits;
        info.exponent_bits_per_sample = 0;
        // Samples are data, not colour: keep them in the original space (no XYB).
        info.uses_original_profile = ffi::JXL_TRUE;
        info.num_color_channels = 1;
        info.num_extra_channels = (n - 1) as u32;
        info.alpha_bits = 0;
        // SAFETY: self.0 is live and info is a fully initialised JxlBasicInfo.
        let status = unsafe { ffi::JxlEncoderSetBasicInfo(self.0, &info) };
        self.check(status, || "JxlEncoderSetBasicInfo failed".into())?;

        // The colour encoding is only a label here (lossless, original profile), but grey
        // needs one; grey sRGB is the cheapest to signal.
        // SAFETY: all-zero is a valid JxlColorEncoding; SetToSRGB fills every field.
        let mut color: ffi::JxlColorEncoding = unsafe { std::mem::zeroed() };
        // SAFETY: color is a valid, writable JxlColorEncoding.
        unsafe { ffi::JxlColorEncodingSetToSRGB(&mut color, ffi::JXL_TRUE) };
        // SAFETY: self.0 is live and color is initialised.
        let status = unsafe { ffi::JxlEncoderSetColorEncoding(self.0, &color) };
        self.check(status, || "JxlEncoderSetColorEncoding failed".into())?;

        for i in 0..n - 1 {
            // SAFETY: all-zero is a valid JxlExtraChannelInfo; Init writes the defaults.
            let mut channel: ffi::JxlExtraChannelInfo = unsafe { std::mem::zeroed() };
            // SAFETY: channel is a valid, writable JxlExtraChannelInfo.
            unsafe { ffi::JxlEncoderInitExtraChannelInfo(ffi::JXL_CHANNEL_OPTIONAL, &mut channel) };
            channel.bits_per_sample = bits;
            channel.exponent_bits_per_sample = 0;
            // SAFETY: self.0 is live, i < num_extra_channels, channel is initialised.
            let status = unsafe { ffi::JxlEncoderSetExtraChannelInfo(self.0, i, &channel) };
            self.check(status, || {
                format!("JxlEncoderSetExtraChannelInfo failed for extra channel {i}")
            })?;
        }
        Ok(())
    }

    /// Lossless frame settings at `effort` (1..=9), owned by the encoder and freed with it.
    fn lossless_frame(&self, effort: u32) -> Result<*mut ffi::JxlEncoderFrameSettings> {
        // SAFETY: self.0 is live; a null source gives default settings.
        let settings = unsafe { ffi::JxlEncoderFrameSettingsCreate(self.0, ptr::null()) };
        if settings.is_null() {
            return Err(Error::invalid(
                "JPEG XL: JxlEncoderFrameSettingsCreate failed",
            ));
        }
        // SAFETY: settings belongs to the live encoder.
        let status = unsafe { ffi::JxlEncoderSetFrameLossless(settings, ffi::JXL_TRUE) };
        self.check(status, || "JxlEncoderSetFrameLossless failed".into())?;
        let effort_id = ffi::JXL_ENC_FRAME_SETTING_EFFORT;
        // SAFETY: settings belongs to the live encoder; effort was checked to be 1..=9.
        let status =
            unsafe { ffi::JxlEncoderFrameSettingsSetOption(settings, effort_id, effort.into()) };
        self.check(status, || {
            format!("JxlEncoderFrameSettingsSetOption(EFFORT = {effort}) failed")
        })?;
        Ok(settings)
    }

    /// Hands libjxl the `n` planes (it copies them) as one frame and closes the input.
    fn add_frame(
        &self,
        settings: *mut ffi::JxlEncoderFrameSettings,
        planes: Planes,
        plane_len: usize,
        n: usize,
    ) -> Result<()> {
        let format = pixel_format(planes.bits());
        let (grey, grey_len) = planes.plane_raw(0, plane_len);
        // SAFETY: settings belongs to the live encoder; grey points to grey_len readable
        // bytes holding plane_len samples of `format`; libjxl copies them before returning.
        let status = unsafe { ffi::JxlEncoderAddImageFrame(settings, &format, grey, grey_len) };
        self.check(status, || "JxlEncoderAddImageFrame failed".into())?;
        for i in 1..n {
            let (ptr, len) = planes.plane_raw(i, plane_len);
            let index = (i - 1) as u32;
            // SAFETY: as for the grey plane; index < num_extra_channels.
            let status =
                unsafe { ffi::JxlEncoderSetExtraChannelBuffer(settings, &format, ptr, len, index) };
            self.check(status, || {
                format!("JxlEncoderSetExtraChannelBuffer failed for extra channel {index}")
            })?;
        }
        // SAFETY: self.0 is live.
        unsafe { ffi::JxlEncoderCloseInput(self.0) };
        Ok(())
    }

    /// Collects the encoded bytes, starting from `capacity` and doubling whenever libjxl
    /// asks for more room.
    fn output(&self, capacity: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; capacity];
        let mut used = 0usize;
        loop {
            let mut avail = out.len() - used;
            // SAFETY: used <= out.len(), so the pointer is within (or one past) `out`.
            let mut next = unsafe { out.as_mut_ptr().add(used) };
            // SAFETY: next/avail describe the writable tail of `out`, which outlives the call.
            let status = unsafe { ffi::JxlEncoderProcessOutput(self.0, &mut next, &mut avail) };
            used = out.len() - avail;
            match status {
                ffi::JXL_ENC_SUCCESS => break,
                ffi::JXL_ENC_NEED_MORE_OUTPUT => out.resize(out.len() * 2, 0),
                _ => self.check(status, || "JxlEncoderProcessOutput failed".into())?,
            }
        }
        out.truncate(used);
        Ok(out)
    }
}

/// Encode exactly `n` planes (1 grey + n-1 extra channels) as one bare codestream.
///
/// Container: by default libjxl writes a bare codestream, but past 4 extra channels or at
/// 16 bits (level 5 wants modular buffers to fit in 16-bit signed integers) 0.7 picks
/// codestream level 10 by itself and then always wraps the codestream in the ISO BMFF
/// container to carry the `jxll` level box (49 bytes: signature, ftyp, jxll, jxlc header).
/// We keep that rather than strip it: a bare level-10 codestream would claim level 5 by
/// omission, and 49 bytes are noise next to a tile.
fn encode_codestream(
    planes: Planes,
    width: usize,
    height: usize,
    n: usize,
    effort: u32,
) -> Result<Vec<u8>> {
    let plane_len = width * height;
    let bits = planes.bits();
    let encoder = Encoder::new()?;
    encoder.set_image(width, height, n, bits)?;
    let settings = encoder.lossless_frame(effort)?;
    encoder.add_frame(settings, planes, plane_len, n)?;
    // Start at a quarter of the raw size plus slack.
    encoder.output((plane_len * n * (bits as usize / 8)) / 4 + 4096)
}

/// Owns a `JxlDecoder` so it is destroyed on every return path.
struct Decoder(*mut ffi::JxlDecoder);

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: self.0 came from JxlDecoderCreate, is non-null and is destroyed once.
        unsafe { ffi::JxlDecoderDestroy(self.0) }
    }
}

impl Decoder {
    /// A decoder of the whole of `bytes`, reporting the basic info and the full image.
    /// `bytes` must outlive it.
    fn new(bytes: &[u8]) -> Result<Self> {
        // SAFETY: a null memory manager selects libjxl's default allocator.
        let raw = unsafe { ffi::JxlDecoderCreate(ptr::null()) };
        if raw.is_null() {
            return Err(Error::invalid("JPEG XL: JxlDecoderCreate failed"));
        }
        let dec = Decoder(raw);
        let events = ffi::JXL_DEC_BASIC_INFO | ffi::JXL_DEC_FULL_IMAGE;
        // SAFETY: dec.0 is a live decoder.
        if unsafe { ffi::JxlDecoderSubscribeEvents(dec.0, events) } != ffi::JXL_DEC_SUCCESS {
            return Err(Error::invalid("JPEG XL: JxlDecoderSubscribeEvents failed"));
        }
        // All input is available up front; closing it turns a short stream into an error
        // instead of an endless request for more.
        // SAFETY: the caller keeps `bytes` alive as long as the decoder.
        if unsafe { ffi::JxlDecoderSetInput(dec.0, bytes.as_ptr(), bytes.len()) }
            != ffi::JXL_DEC_SUCCESS
        {
            return Err(Error::invalid("JPEG XL: JxlDecoderSetInput failed"));
        }
        // SAFETY: dec.0 is live.
        unsafe { ffi::JxlDecoderCloseInput(dec.0) };
        Ok(dec)
    }

    /// Points channel `c` (0 grey, then the extra channels) at `plane`, after checking that
    /// libjxl wants exactly `plane_bytes` bytes for it.
    ///
    /// # Safety
    /// `plane` must point to `plane_bytes` writable bytes that nothing else accesses until
    /// the decoder is destroyed, and `c` must be below the stream's channel count.
    unsafe fn set_plane(
        &self,
        c: usize,
        format: &ffi::JxlPixelFormat,
        plane: *mut c_void,
        plane_bytes: usize,
    ) -> Result<()> {
        let mut size = 0usize;
        // SAFETY: self.0 is live, format and size are valid pointers, and the caller
        // checked the extra channel index against num_extra_channels.
        let status = unsafe {
            if c == 0 {
                ffi::JxlDecoderImageOutBufferSize(self.0, format, &mut size)
            } else {
                ffi::JxlDecoderExtraChannelBufferSize(self.0, format, &mut size, (c - 1) as u32)
            }
        };
        if status != ffi::JXL_DEC_SUCCESS || size != plane_bytes {
            return Err(Error::corrupt(format!(
                "JPEG XL: buffer size query for channel {c} gave {size} bytes, \
                 expected {plane_bytes}"
            )));
        }
        // SAFETY: the caller guarantees `plane` is plane_bytes writable bytes reserved for
        // the decoder.
        let status = unsafe {
            if c == 0 {
                ffi::JxlDecoderSetImageOutBuffer(self.0, format, plane, plane_bytes)
            } else {
                ffi::JxlDecoderSetExtraChannelBuffer(
                    self.0,
                    format,
                    plane,
                    plane_bytes,
                    (c - 1) as u32,
                )
            }
        };
        if status != ffi::JXL_DEC_SUCCESS {
            return Err(Error::corrupt(if c == 0 {
                "JPEG XL: JxlDecoderSetImageOutBuffer failed".to_string()
            } else {
                format!(
                    "JPEG XL: JxlDecoderSetExtraChannelBuffer failed for extra channel {}",
                    c - 1
                )
            }));
        }
        Ok(())
    }
}

/// Decode one codestream of exactly `n` planes into `out` (n * width * height samples),
/// rejecting any stream whose header disagrees with what the container says.
fn decode_codestream(
    bytes: &[u8],
    width: usize,
    height: usize,
    n: usize,
    out: PlanesMut,
) -> Result<()> {
    let (bits, base, sample_size): (u32, *mut c_void, usize) = match out {
        PlanesMut::U8(s) => (8, s.as_mut_ptr().cast(), 1),
        PlanesMut::U16(s) => (16, s.as_mut_ptr().cast(), 2),
    };
    let plane_bytes = width * height * sample_size;
    let format = pixel_format(bits);
    if bytes.is_empty() {
        return Err(Error::truncated("JPEG XL: empty codestream"));
    }
    let dec = Decoder::new(bytes)?;
    let (mut have_info, mut have_buffers, mut have_image) = (false, false, false);
    // A valid stream takes four calls (basic info, buffer request, full image, success);
    // the bound only guarantees termination on hostile input.
    for _ in 0..16 {
        // SAFETY: dec.0 is live; the input and any output buffers set below stay valid
        // and untouched by Rust until the decoder is dropped.
        let status = unsafe { ffi::JxlDecoderProcessInput(dec.0) };
        match status {
            ffi::JXL_DEC_BASIC_INFO if !have_info => {
                check_basic_info(&dec, width, height, n, bits)?;
                have_info = true;
            }
            ffi::JXL_DEC_NEED_IMAGE_OUT_BUFFER if have_info && !have_buffers => {
                for c in 0..n {
                    // SAFETY: plane c lies inside `out` (n * plane_bytes bytes from base).
                    let plane = unsafe { base.cast::<u8>().add(c * plane_bytes) }.cast();
                    // SAFETY: `plane` points to plane_bytes bytes of `out`, which the
                    // caller lends for the whole decode; check_basic_info checked that the
                    // stream has n channels.
                    unsafe { dec.set_plane(c, &format, plane, plane_bytes)? };
                }
                have_buffers = true;
            }
            ffi::JXL_DEC_FULL_IMAGE if have_buffers && !have_image => have_image = true,
            ffi::JXL_DEC_SUCCESS if have_image => return Ok(()),
            ffi::JXL_DEC_NEED_MORE_INPUT => {
                return Err(Error::truncated(
                    "JPEG XL: JxlDecoderProcessInput needs more input than the codestream has",
                ))
            }
            ffi::JXL_DEC_ERROR => {
                // Also what 0.7 reports for a cut-short stream once the input is closed.
                return Err(Error::corrupt(
                    "JPEG XL: JxlDecoderProcessInput failed (corrupt or truncated codestream)",
                ));
            }
            // Second frames, a success before any image, and the like: not our streams.
            other => {
                return Err(Error::corrupt(format!(
                    "JPEG XL: unexpected JxlDecoderProcessInput status {other:#x}"
                )))
            }
        }
    }
    Err(Error::corrupt(
        "JPEG XL: codestream did not finish decoding",
    ))
}

/// Check the decoded header against the geometry the container promised.
fn check_basic_info(dec: &Decoder, width: usize, height: usize, n: usize, bits: u32) -> Result<()> {
    // SAFETY: all-zero is a valid JxlBasicInfo.
    let mut info: ffi::JxlBasicInfo = unsafe { std::mem::zeroed() };
    // SAFETY: dec.0 is live and has emitted JXL_DEC_BASIC_INFO; info is writable.
    if unsafe { ffi::JxlDecoderGetBasicInfo(dec.0, &mut info) } != ffi::JXL_DEC_SUCCESS {
        return Err(Error::corrupt("JPEG XL: JxlDecoderGetBasicInfo failed"));
    }
    let mismatch = |what: &str, got: u64, want: u64| {
        Err(Error::corrupt(format!(
            "JPEG XL: codestream {what} is {got}, expected {want}"
        )))
    };
    if info.xsize as usize != width {
        return mismatch("width", info.xsize.into(), width as u64);
    }
    if info.ysize as usize != height {
        return mismatch("height", info.ysize.into(), height as u64);
    }
    if info.num_color_channels != 1 {
        return mismatch("colour channel count", info.num_color_channels.into(), 1);
    }
    if info.num_extra_channels as usize != n - 1 {
        let got = u64::from(info.num_extra_channels) + 1;
        return mismatch("channel count", got, n as u64);
    }
    if info.bits_per_sample != bits || info.exponent_bits_per_sample != 0 {
        return mismatch("bit depth", info.bits_per_sample.into(), bits.into());
    }
    if info.uses_original_profile != ffi::JXL_TRUE
        || info.orientation != ffi::JXL_ORIENT_IDENTITY
        || info.have_animation != ffi::JXL_FALSE
    {
        return Err(Error::corrupt(
            "JPEG XL: codestream is not a single lossless, unrotated still image",
        ));
    }
    for i in 0..n - 1 {
        // SAFETY: all-zero is a valid JxlExtraChannelInfo.
        let mut ec: ffi::JxlExtraChannelInfo = unsafe { std::mem::zeroed() };
        // SAFETY: dec.0 is live, i < num_extra_channels (checked above), ec is writable.
        if unsafe { ffi::JxlDecoderGetExtraChannelInfo(dec.0, i, &mut ec) } != ffi::JXL_DEC_SUCCESS
        {
            return Err(Error::corrupt(format!(
                "JPEG XL: JxlDecoderGetExtraChannelInfo failed for extra channel {i}"
            )));
        }
        if ec.bits_per_sample != bits || ec.exponent_bits_per_sample != 0 || ec.dim_shift != 0 {
            return Err(Error::corrupt(format!(
                "JPEG XL: extra channel {i} is {} bits (exponent {}, shift {}), expected {bits}",
                ec.bits_per_sample, ec.exponent_bits_per_sample, ec.dim_shift
            )));
        }
    }
    Ok(())
}

/// Bounds-checked little-endian reader over the group framing.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8]> {
        let rest = &self.bytes[self.pos..];
        if rest.len() < len {
            return Err(Error::truncated(format!(
                "JPEG XL: {what} needs {len} bytes, {} left",
                rest.len()
            )));
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// Smooth per-channel gradient plus a little xorshift noise: compressible like real
    /// imagery but not trivially, and every channel differs.
    fn test_planes(width: usize, height: usize, channels: usize, bits: u32, seed: u64) -> Vec<u32> {
        let mut state = seed | 1;
        let max = (1u64 << bits) - 1;
        let mut planes = Vec::with_capacity(width * height * channels);
        for c in 0..channels {
            for y in 0..height {
                for x in 0..width {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let smooth = (x * (c % 7 + 1) + y * 3 + c * 11) as u64 * (max / 200 + 1);
                    planes.push(((smooth + (state & 15)) % (max + 1)) as u32);
                }
            }
        }
        planes
    }

    fn round_trip(width: usize, height: usize, channels: usize, bits: u32, effort: u32) {
        let samples = test_planes(width, height, channels, bits, 0x9e37_79b9 + channels as u64);
        let (bytes, expected) = if bits == 8 {
            let narrow: Vec<u8> = samples.iter().map(|&v| v as u8).collect();
            let bytes = encode(Planes::U8(&narrow), width, height, channels, effort).unwrap();
            (bytes, PlanesOut::U8(narrow))
        } else {
            let narrow: Vec<u16> = samples.iter().map(|&v| v as u16).collect();
            let bytes = encode(Planes::U16(&narrow), width, height, channels, effort).unwrap();
            (bytes, PlanesOut::U16(narrow))
        };
        let groups = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(groups, channels.div_ceil(MAX_CHANNELS_PER_CODESTREAM));
        // Bare codestream (signature FF 0A) at level 5: 8 bits, up to 4 extra channels.
        // Otherwise libjxl 0.7 insists on the container (signature box first) for the
        // level 10 box.
        if bits == 8 && channels <= 5 {
            assert_eq!(bytes[12..14], [0xff, 0x0a]);
        } else {
            assert_eq!(bytes[12..24], *b"\0\0\0\x0cJXL \r\n\x87\n");
        }
        let decoded = decode(&bytes, width, height, channels, bits).unwrap();
        assert!(
            decoded == expected,
            "{width}x{height}x{channels} at {bits} bits, effort {effort} did not round-trip"
        );
    }

    #[test]
    fn round_trips_8_bit() {
        for channels in [1, 3, 128, 129, 257, 258, 300] {
            round_trip(37, 23, channels, 8, 1);
        }
        round_trip(1, 1, 1, 8, 7);
        round_trip(1, 1, 300, 8, 1);
        round_trip(64, 48, 5, 8, 7);
    }

    #[test]
    fn round_trips_16_bit() {
        for channels in [1, 3, 128, 129, 257, 258, 300] {
            round_trip(37, 23, channels, 16, 1);
        }
        round_trip(1, 1, 1, 16, 7);
        round_trip(23, 37, 129, 16, 7);
        round_trip(64, 48, 5, 16, 7);
    }

    #[test]
    fn extreme_values_round_trip() {
        let samples: Vec<u16> = (0..2 * 9 * 5)
            .map(|i| if i % 3 == 0 { 65535 } else { (i % 2) as u16 })
            .collect();
        let bytes = encode(Planes::U16(&samples), 9, 5, 2, 3).unwrap();
        assert_eq!(
            decode(&bytes, 9, 5, 2, 16).unwrap(),
            PlanesOut::U16(samples)
        );
    }

    #[test]
    fn groups_are_even() {
        assert_eq!(group_sizes(1), [1]);
        assert_eq!(
            group_sizes(MAX_CHANNELS_PER_CODESTREAM),
            [MAX_CHANNELS_PER_CODESTREAM]
        );
        assert_eq!(group_sizes(200), [200]);
        assert_eq!(group_sizes(258), [129, 129]);
        assert_eq!(group_sizes(300), [150, 150]);
        assert_eq!(group_sizes(1024), [256; 4]);
        assert_eq!(group_sizes(1025), [257, 256, 256, 256]);
        assert_eq!(group_sizes(1029), [206, 206, 206, 206, 205]);
    }

    #[test]
    fn deterministic() {
        let samples: Vec<u8> = test_planes(40, 30, 6, 8, 7)
            .iter()
            .map(|&v| v as u8)
            .collect();
        let first = encode(Planes::U8(&samples), 40, 30, 6, 7).unwrap();
        let second = encode(Planes::U8(&samples), 40, 30, 6, 7).unwrap();
        assert_eq!(first, second);
    }

    fn sample_stream() -> (Vec<u8>, usize, usize, usize) {
        let (width, height, channels) = (37, 23, 5);
        let samples: Vec<u8> = test_planes(width, height, channels, 8, 3)
            .iter()
            .map(|&v| v as u8)
            .collect();
        (
            encode(Planes::U8(&samples), width, height, channels, 3).unwrap(),
            width,
            height,
            channels,
        )
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let (bytes, width, height, channels) = sample_stream();
        for cut in 0..bytes.len() {
            let err = decode(&bytes[..cut], width, height, channels, 8).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::Truncated | ErrorKind::Corrupt),
                "cut at {cut}: {err}"
            );
        }
        // Truncate the codestream but fix up the framing so libjxl sees the short stream.
        let mut short = bytes[..bytes.len() - 10].to_vec();
        let len = u32::from_le_bytes(short[8..12].try_into().unwrap()) - 10;
        short[8..12].copy_from_slice(&len.to_le_bytes());
        let err = decode(&short, width, height, channels, 8).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Truncated | ErrorKind::Corrupt),
            "{err}"
        );
    }

    #[test]
    fn mismatched_geometry_is_corrupt() {
        let (bytes, width, height, channel_count) = sample_stream();
        for (w2, h2, c2, bits) in [
            (width, height, channel_count + 1, 8),
            (width, height, channel_count - 1, 8),
            (width + 1, height, channel_count, 8),
            (width, height - 1, channel_count, 8),
            (width, height, channel_count, 16),
        ] {
            let err = decode(&bytes, w2, h2, c2, bits).unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::Corrupt,
                "{w2}x{h2}x{c2}@{bits}: {err}"
            );
        }
        // Framing that claims the right total but lies about the codestream's channels.
        let mut lie = bytes.clone();
        lie[4..8].copy_from_slice(&4u32.to_le_bytes());
        let err = decode(&lie, width, height, 4, 8).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        assert!(err.message().contains("channel count"), "{err}");
    }

    #[test]
    fn garbage_is_an_error() {
        let (bytes, width, height, channels) = sample_stream();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Pure garbage, and garbage behind a valid framing header.
        for len in [0usize, 1, 4, 12, 100, 5000] {
            let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            assert!(decode(&junk, width, height, channels, 8).is_err());
            let mut framed = 1u32.to_le_bytes().to_vec();
            framed.extend_from_slice(&(channels as u32).to_le_bytes());
            framed.extend_from_slice(&(len as u32).to_le_bytes());
            framed.extend_from_slice(&junk);
            assert!(decode(&framed, width, height, channels, 8).is_err());
        }
        // Bit flips inside a valid codestream: an error or (if libjxl cannot tell) some
        // image, but never a panic, hang or out-of-bounds access.
        for i in 0..400 {
            let mut bad = bytes.clone();
            let position = 12 + (next() as usize) % (bad.len() - 12);
            bad[position] ^= 1 << (i % 8);
            let _ = decode(&bad, width, height, channels, 8);
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            decode(&trailing, width, height, channels, 8)
                .unwrap_err()
                .kind(),
            ErrorKind::Corrupt
        );
    }

    #[test]
    fn bad_arguments_are_rejected() {
        let samples = vec![0u8; 12];
        assert!(encode(Planes::U8(&samples), 2, 2, 3, 0).is_err());
        assert!(encode(Planes::U8(&samples), 2, 2, 3, 10).is_err());
        assert!(encode(Planes::U8(&samples), 2, 2, 4, 1).is_err());
        assert!(encode(Planes::U8(&samples), 0, 2, 3, 1).is_err());
        let bytes = encode(Planes::U8(&samples), 2, 2, 3, 1).unwrap();
        assert_eq!(
            decode(&bytes, 2, 2, 3, 12).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    fn single_codestream_round_trip(n: usize, bits: u32) -> Result<bool> {
        let (width, height) = (37, 23);
        let samples = test_planes(width, height, n, bits, 42);
        if bits == 8 {
            let narrow: Vec<u8> = samples.iter().map(|&v| v as u8).collect();
            let bytes = encode_codestream(Planes::U8(&narrow), width, height, n, 3)?;
            let mut out = vec![0u8; narrow.len()];
            decode_codestream(&bytes, width, height, n, PlanesMut::U8(&mut out))?;
            Ok(out == narrow)
        } else {
            let narrow: Vec<u16> = samples.iter().map(|&v| v as u16).collect();
            let bytes = encode_codestream(Planes::U16(&narrow), width, height, n, 3)?;
            let mut out = vec![0u16; narrow.len()];
            decode_codestream(&bytes, width, height, n, PlanesMut::U16(&mut out))?;
            Ok(out == narrow)
        }
    }

    /// Pins MAX_CHANNELS_PER_CODESTREAM to what the linked libjxl really does: a single
    /// codestream of exactly that many channels round-trips bit-exactly, one more is
    /// refused. If a libjxl upgrade changes either, this fails.
    #[test]
    fn codestream_channel_limit() {
        for bits in [8, 16] {
            for n in [127, 128, 129, 200, MAX_CHANNELS_PER_CODESTREAM] {
                assert!(
                    single_codestream_round_trip(n, bits).unwrap(),
                    "{n} channels, {bits} bits"
                );
            }
            let err =
                single_codestream_round_trip(MAX_CHANNELS_PER_CODESTREAM + 1, bits).unwrap_err();
            assert!(err.message().contains("JxlEncoderSetBasicInfo"), "{err}");
        }
    }

    /// `cargo test --release -p geoembed-codec jxl_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn jxl_speed() {
        let (width, height, channels) = (256, 256, 128);
        let samples: Vec<u8> = test_planes(width, height, channels, 8, 1)
            .iter()
            .map(|&v| v as u8)
            .collect();
        let megabytes = samples.len() as f64 / 1e6;
        for effort in [1, 3, 7] {
            let start = std::time::Instant::now();
            let bytes = encode(Planes::U8(&samples), width, height, channels, effort).unwrap();
            let enc = start.elapsed().as_secs_f64();
            let start = std::time::Instant::now();
            let out = decode(&bytes, width, height, channels, 8).unwrap();
            let dec = start.elapsed().as_secs_f64();
            assert_eq!(out, PlanesOut::U8(samples.clone()));
            println!(
                "{width}x{height}x{channels} u8 effort {effort}: ratio {:.3}, encode {:.2} MB/s ({enc:.2} s), decode {:.2} MB/s ({dec:.2} s)",
                bytes.len() as f64 / samples.len() as f64,
                megabytes / enc,
                megabytes / dec
            );
        }
    }
}
