#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus: small valid inputs of each reader, in the harnesses' framing.

Usage: tests/fuzz/make_corpus.py [CORPUS_DIR]   (default: tests/fuzz/corpus beside this script)
The files are committed; run this again only when a format or a harness's framing changes.
"""
import gzip
import json
import pathlib
import struct
import sys


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def checkpoint(integers, metadata, tensors) -> bytes:
    """The checkpoint format of include/ddp/io/checkpoint.hpp, version 1."""
    def name(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<I", len(raw)) + raw

    body = b""
    for key, value in integers:
        body += b"\x01" + name(key) + struct.pack("<q", value)
    for key, value in metadata:
        body += b"\x02" + name(key) + name(value)
    for key, section, dtype, shape, data in tensors:
        body += b"\x03" + name(key) + struct.pack("<BBB", section, dtype, len(shape))
        body += b"".join(struct.pack("<q", extent) for extent in shape) + data
    head = b"DDPCKPT\x00" + struct.pack("<IQ", 1, len(body)) + body
    return head + struct.pack("<I", crc32c(head))


def safetensors(tensors, metadata=None, header_text=None) -> bytes:
    """The safetensors format of include/ddp/io/safetensors.hpp: tensors are (name, dtype, shape,
    data) packed in order; header_text, when given, is the header as it is (unpadded)."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for key, dtype, shape, data in tensors:
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    if header_text is None:
        header_text = json.dumps(header, separators=(",", ":"), ensure_ascii=False)
        header_text += " " * (-len(header_text.encode()) % 8)
    raw = header_text.encode()
    return struct.pack("<Q", len(raw)) + raw + b"".join(data for _, _, _, data in tensors)


def floats(*values) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def idx(prefix_class_count: int, images: bytes, labels: bytes) -> bytes:
    return struct.pack("<BH", prefix_class_count - 1, len(images)) + images + labels


def main() -> None:
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent / "corpus")
    integers = [("step", 3), ("epoch", 1), ("next_batch", 2)]
    seeds = {
        "checkpoint/minimal": checkpoint(integers, [], []),
        "checkpoint/linear_sgd": checkpoint(
            integers, [("model", "linear:5,2"), ("optimizer", "sgd")],
            [("0.weight", 0, 1, [2, 5], floats(*range(10))),
             ("0.bias", 0, 1, [2], floats(0.5, -0.5)),
             ("0.weight.momentum", 1, 2, [2, 5], struct.pack("<10d", *range(10))),
             ("generator", 2, 4, [4], struct.pack("<4q", 1, 2, 3, -4)),
             ("scalar", 2, 5, [], b"\x80\x3f"),
             ("empty", 2, 6, [0, 3], b""),
             ("counts", 2, 3, [3], struct.pack("<3i", 7, 8, 9))]),
        "csv/header": b"\x00label,a,b\n0,1.5,2\n1,-3,4e2\n2,+0.25,-1e-3\n",
        "csv/crlf_bom": b"\x32\xef\xbb\xbf1, 2.0 ,3\r\n\r\n0,4,5\r\n2,6,7",
        "csv/one_feature": b"\x01" + b"0,1\n1,2\n",
        "idx/two_images": idx(10, struct.pack(">IIII", 0x803, 2, 2, 2) + bytes([0, 64, 128, 255] * 2),
                              struct.pack(">II", 0x801, 2) + bytes([3, 9])),
        "idx/one_pixel": idx(256, struct.pack(">IIII", 0x803, 1, 1, 1) + b"\x07",
                             struct.pack(">II", 0x801, 1) + b"\xff"),
        # The reader inflates gzip files, recognised by their first bytes (mtime 0: reproducible).
        "idx/gzip_images": idx(10, gzip.compress(struct.pack(">IIII", 0x803, 2, 2, 2)
                                                 + bytes([0, 64, 128, 255] * 2), mtime=0),
                               struct.pack(">II", 0x801, 2) + bytes([3, 9])),
        "idx/gzip_both": idx(10, gzip.compress(struct.pack(">IIII", 0x803, 1, 1, 3) + b"\x01\x02\x03",
                                               mtime=0),
                             gzip.compress(struct.pack(">II", 0x801, 1) + b"\x05", mtime=0)),
        "config/train": b"# a run\nbatch-size = 32\nepochs=2\nkeep = 5\nlr = 0.05\n"
                        b"model = mlp:5,64,2\nresume = true\ntag = a\ntag = b\n",
        "config/empty_values": b"\n; comment\nmodel =\nlr = 1e-3\n",
        "safetensors/empty": safetensors([]),
        "safetensors/linear": safetensors(
            [("0.weight", "F32", [2, 3], floats(*range(6))), ("0.bias", "F32", [2], floats(1, -1))],
            {"format": "pt"}),
        "safetensors/all_dtypes": safetensors(
            [("f64", "F64", [2], struct.pack("<2d", 0.5, -2)),
             ("i32", "I32", [2, 2], struct.pack("<4i", 1, 2, 3, -4)),
             ("step", "I64", [], struct.pack("<q", 7)),
             ("bf16", "BF16", [3], b"\x80\x3f\x00\x40\x40\x40"),
             ("f16", "F16", [1], b"\x00\x3c"),
             ("empty", "F32", [0, 3], b"")]),
        # Escaped names, whitespace, and a header that lists the tensors out of their data's order.
        "safetensors/escapes": safetensors(
            [("a", "F32", [1], floats(1)), ("b", "I32", [1], struct.pack("<i", 2))],
            header_text='{ "b\\"\\\\\\u00e9\\ud83d\\ude00" : {"dtype": "I32", "shape": [1], '
                        '"data_offsets": [4, 8]},\n\t"a": {"dtype": "F32", "shape": [1], '
                        '"data_offsets": [0, 4]}, "__metadata__": {"k\\n": "v\\t"} }\n'),
    }
    for relative, data in seeds.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


if __name__ == "__main__":
    main()
