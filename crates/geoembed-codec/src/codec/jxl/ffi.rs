//! Minimal hand-written bindings to libjxl 0.7's C API (`/usr/include/jxl/*.h`).
//!
//! Only what [`super`] needs is declared. Struct layouts were copied field by field from
//! the 0.7 headers and checked against the C compiler's `sizeof`/`offsetof` (see the
//! layout test at the bottom). C enums are declared as plain `c_int`/`u32` aliases with
//! constants rather than Rust enums: libjxl may hand back values we do not list, and an
//! out-of-range Rust enum would be undefined behaviour.

#![allow(non_camel_case_types, non_snake_case, dead_code)]

use std::ffi::{c_int, c_void};

pub(super) type JXL_BOOL = c_int;
pub(super) const JXL_TRUE: JXL_BOOL = 1;
pub(super) const JXL_FALSE: JXL_BOOL = 0;

// types.h
pub(super) type JxlDataType = c_int;
pub(super) const JXL_TYPE_UINT8: JxlDataType = 2;
pub(super) const JXL_TYPE_UINT16: JxlDataType = 3;

pub(super) type JxlEndianness = c_int;
pub(super) const JXL_NATIVE_ENDIAN: JxlEndianness = 0;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct JxlPixelFormat {
    pub num_channels: u32,
    pub data_type: JxlDataType,
    pub endianness: JxlEndianness,
    pub align: usize,
}

// codestream_header.h
pub(super) type JxlOrientation = c_int;
pub(super) const JXL_ORIENT_IDENTITY: JxlOrientation = 1;

pub(super) type JxlExtraChannelType = c_int;
pub(super) const JXL_CHANNEL_OPTIONAL: JxlExtraChannelType = 16;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct JxlPreviewHeader {
    pub xsize: u32,
    pub ysize: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct JxlAnimationHeader {
    pub tps_numerator: u32,
    pub tps_denominator: u32,
    pub num_loops: u32,
    pub have_timecodes: JXL_BOOL,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct JxlBasicInfo {
    pub have_container: JXL_BOOL,
    pub xsize: u32,
    pub ysize: u32,
    pub bits_per_sample: u32,
    pub exponent_bits_per_sample: u32,
    pub intensity_target: f32,
    pub min_nits: f32,
    pub relative_to_max_display: JXL_BOOL,
    pub linear_below: f32,
    pub uses_original_profile: JXL_BOOL,
    pub have_preview: JXL_BOOL,
    pub have_animation: JXL_BOOL,
    pub orientation: JxlOrientation,
    pub num_color_channels: u32,
    pub num_extra_channels: u32,
    pub alpha_bits: u32,
    pub alpha_exponent_bits: u32,
    pub alpha_premultiplied: JXL_BOOL,
    pub preview: JxlPreviewHeader,
    pub animation: JxlAnimationHeader,
    pub intrinsic_xsize: u32,
    pub intrinsic_ysize: u32,
    pub padding: [u8; 100],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct JxlExtraChannelInfo {
    pub type_: JxlExtraChannelType,
    pub bits_per_sample: u32,
    pub exponent_bits_per_sample: u32,
    pub dim_shift: u32,
    pub name_length: u32,
    pub alpha_premultiplied: JXL_BOOL,
    pub spot_color: [f32; 4],
    pub cfa_channel: u32,
}

// color_encoding.h. Only ever filled in by JxlColorEncodingSetTo*, so the field enums
// stay opaque integers.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(super) struct JxlColorEncoding {
    pub color_space: c_int,
    pub white_point: c_int,
    pub white_point_xy: [f64; 2],
    pub primaries: c_int,
    pub primaries_red_xy: [f64; 2],
    pub primaries_green_xy: [f64; 2],
    pub primaries_blue_xy: [f64; 2],
    pub transfer_function: c_int,
    pub gamma: f64,
    pub rendering_intent: c_int,
}

// encode.h
#[repr(C)]
pub(super) struct JxlEncoder {
    _opaque: [u8; 0],
}
#[repr(C)]
pub(super) struct JxlEncoderFrameSettings {
    _opaque: [u8; 0],
}
/// Never constructed on the Rust side; we always pass NULL (default malloc/free).
#[repr(C)]
pub(super) struct JxlMemoryManager {
    _opaque: [u8; 0],
}

pub(super) type JxlEncoderStatus = c_int;
pub(super) const JXL_ENC_SUCCESS: JxlEncoderStatus = 0;
pub(super) const JXL_ENC_ERROR: JxlEncoderStatus = 1;
pub(super) const JXL_ENC_NEED_MORE_OUTPUT: JxlEncoderStatus = 2;

pub(super) type JxlEncoderError = c_int;

pub(super) type JxlEncoderFrameSettingId = c_int;
pub(super) const JXL_ENC_FRAME_SETTING_EFFORT: JxlEncoderFrameSettingId = 0;

// decode.h
#[repr(C)]
pub(super) struct JxlDecoder {
    _opaque: [u8; 0],
}

pub(super) type JxlDecoderStatus = c_int;
pub(super) const JXL_DEC_SUCCESS: JxlDecoderStatus = 0;
pub(super) const JXL_DEC_ERROR: JxlDecoderStatus = 1;
pub(super) const JXL_DEC_NEED_MORE_INPUT: JxlDecoderStatus = 2;
pub(super) const JXL_DEC_NEED_IMAGE_OUT_BUFFER: JxlDecoderStatus = 5;
pub(super) const JXL_DEC_BASIC_INFO: JxlDecoderStatus = 0x40;
pub(super) const JXL_DEC_FULL_IMAGE: JxlDecoderStatus = 0x1000;

#[link(name = "jxl")]
extern "C" {
    pub(super) fn JxlEncoderCreate(memory_manager: *const JxlMemoryManager) -> *mut JxlEncoder;
    pub(super) fn JxlEncoderDestroy(enc: *mut JxlEncoder);
    pub(super) fn JxlEncoderGetError(enc: *mut JxlEncoder) -> JxlEncoderError;
    pub(super) fn JxlEncoderInitBasicInfo(info: *mut JxlBasicInfo);
    pub(super) fn JxlEncoderSetBasicInfo(
        enc: *mut JxlEncoder,
        info: *const JxlBasicInfo,
    ) -> JxlEncoderStatus;
    pub(super) fn JxlColorEncodingSetToSRGB(
        color_encoding: *mut JxlColorEncoding,
        is_gray: JXL_BOOL,
    );
    pub(super) fn JxlEncoderSetColorEncoding(
        enc: *mut JxlEncoder,
        color: *const JxlColorEncoding,
    ) -> JxlEncoderStatus;
    pub(super) fn JxlEncoderInitExtraChannelInfo(
        type_: JxlExtraChannelType,
        info: *mut JxlExtraChannelInfo,
    );
    pub(super) fn JxlEncoderSetExtraChannelInfo(
        enc: *mut JxlEncoder,
        index: usize,
        info: *const JxlExtraChannelInfo,
    ) -> JxlEncoderStatus;
    pub(super) fn JxlEncoderFrameSettingsCreate(
        enc: *mut JxlEncoder,
        source: *const JxlEncoderFrameSettings,
    ) -> *mut JxlEncoderFrameSettings;
    pub(super) fn JxlEncoderSetFrameLossless(
        frame_settings: *mut JxlEncoderFrameSettings,
        lossless: JXL_BOOL,
    ) -> JxlEncoderStatus;
    pub(super) fn JxlEncoderFrameSettingsSetOption(
        frame_settings: *mut JxlEncoderFrameSettings,
        option: JxlEncoderFrameSettingId,
        value: i64,
    ) -> JxlEncoderStatus;
    pub(super) fn JxlEncoderAddImageFrame(
        frame_settings: *const JxlEncoderFrameSettings,
        pixel_format: *const JxlPixelFormat,
        buffer: *const c_void,
        size: usize,
    ) -> JxlEncoderStatus;
    pub(super) fn JxlEncoderSetExtraChannelBuffer(
        frame_settings: *const JxlEncoderFrameSettings,
        pixel_format: *const JxlPixelFormat,
        buffer: *const c_void,
        size: usize,
        index: u32,
    ) -> JxlEncoderStatus;
    pub(super) fn JxlEncoderCloseInput(enc: *mut JxlEncoder);
    pub(super) fn JxlEncoderProcessOutput(
        enc: *mut JxlEncoder,
        next_out: *mut *mut u8,
        avail_out: *mut usize,
    ) -> JxlEncoderStatus;

    pub(super) fn JxlDecoderCreate(memory_manager: *const JxlMemoryManager) -> *mut JxlDecoder;
    pub(super) fn JxlDecoderDestroy(dec: *mut JxlDecoder);
    pub(super) fn JxlDecoderSubscribeEvents(
        dec: *mut JxlDecoder,
        events_wanted: c_int,
    ) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderSetKeepOrientation(
        dec: *mut JxlDecoder,
        skip_reorientation: JXL_BOOL,
    ) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderSetInput(
        dec: *mut JxlDecoder,
        data: *const u8,
        size: usize,
    ) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderCloseInput(dec: *mut JxlDecoder);
    pub(super) fn JxlDecoderProcessInput(dec: *mut JxlDecoder) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderGetBasicInfo(
        dec: *const JxlDecoder,
        info: *mut JxlBasicInfo,
    ) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderGetExtraChannelInfo(
        dec: *const JxlDecoder,
        index: usize,
        info: *mut JxlExtraChannelInfo,
    ) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderImageOutBufferSize(
        dec: *const JxlDecoder,
        format: *const JxlPixelFormat,
        size: *mut usize,
    ) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderSetImageOutBuffer(
        dec: *mut JxlDecoder,
        format: *const JxlPixelFormat,
        buffer: *mut c_void,
        size: usize,
    ) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderExtraChannelBufferSize(
        dec: *const JxlDecoder,
        format: *const JxlPixelFormat,
        size: *mut usize,
        index: u32,
    ) -> JxlDecoderStatus;
    pub(super) fn JxlDecoderSetExtraChannelBuffer(
        dec: *mut JxlDecoder,
        format: *const JxlPixelFormat,
        buffer: *mut c_void,
        size: usize,
        index: u32,
    ) -> JxlDecoderStatus;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    /// Sizes and offsets printed by a C program compiled against the 0.7 headers
    /// (`sizeof`/`_Alignof`/`offsetof` on x86_64 Linux).
    #[test]
    fn layouts_match_libjxl_0_7_headers() {
        assert_eq!(
            (size_of::<JxlBasicInfo>(), align_of::<JxlBasicInfo>()),
            (204, 4)
        );
        assert_eq!(offset_of!(JxlBasicInfo, orientation), 48);
        assert_eq!(offset_of!(JxlBasicInfo, num_extra_channels), 56);
        assert_eq!(offset_of!(JxlBasicInfo, preview), 72);
        assert_eq!(offset_of!(JxlBasicInfo, animation), 80);
        assert_eq!(offset_of!(JxlBasicInfo, intrinsic_ysize), 100);
        assert_eq!(offset_of!(JxlBasicInfo, padding), 104);
        assert_eq!(
            (
                size_of::<JxlExtraChannelInfo>(),
                align_of::<JxlExtraChannelInfo>()
            ),
            (44, 4)
        );
        assert_eq!(offset_of!(JxlExtraChannelInfo, spot_color), 24);
        assert_eq!(offset_of!(JxlExtraChannelInfo, cfa_channel), 40);
        assert_eq!(
            (size_of::<JxlPixelFormat>(), align_of::<JxlPixelFormat>()),
            (24, 8)
        );
        assert_eq!(offset_of!(JxlPixelFormat, align), 16);
        assert_eq!(
            (
                size_of::<JxlColorEncoding>(),
                align_of::<JxlColorEncoding>()
            ),
            (104, 8)
        );
        assert_eq!(offset_of!(JxlColorEncoding, white_point_xy), 8);
        assert_eq!(offset_of!(JxlColorEncoding, primaries), 24);
        assert_eq!(offset_of!(JxlColorEncoding, primaries_red_xy), 32);
        assert_eq!(offset_of!(JxlColorEncoding, transfer_function), 80);
        assert_eq!(offset_of!(JxlColorEncoding, gamma), 88);
        assert_eq!(offset_of!(JxlColorEncoding, rendering_intent), 96);
    }
}
