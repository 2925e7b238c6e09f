#!/usr/bin/env python3
"""Puts a benchmark report into a markdown document between two marker comments, so a
script's rerun replaces its own section and nothing else (appended with the markers when
they are not there yet). Written to DOC.tmp and renamed: an interrupted run leaves DOC whole.

Usage: put_report.py DOC REPORT NAME   (markers: <!-- NAME:start --> and <!-- NAME:end -->)
"""
import os
import sys

doc, report_path, name = sys.argv[1:4]
start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
lines = open(doc).read().rstrip("\n").split("\n")
report = open(report_path).read().rstrip("\n").split("\n")
marks = [line.strip() for line in lines]
if start in marks and end in marks and marks.index(start) < marks.index(end):
    lines = lines[: marks.index(start) + 1] + report + lines[marks.index(end):]
else:
    lines += ["", start] + report + [end]
with open(doc + ".tmp", "w") as out:
    out.write("\n".join(lines) + "\n")
os.replace(doc + ".tmp", doc)
