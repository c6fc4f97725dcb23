"""Read and write safetensors files with json and numpy only (no `safetensors` package).

The format (what ddp's io/safetensors.hpp reads and writes): an 8-byte little-endian header
length N; N bytes of JSON {"NAME": {"dtype": "F32", "shape": [3, 4], "data_offsets": [B, E]},
..., "__metadata__": {"KEY": "VALUE"}} padded with spaces; then every tensor's bytes, row-major,
little-endian, at [B, E) from the first byte after the header.

    from safetensors_io import read, write
    tensors, metadata = read("model.safetensors")       # {name: numpy array}, {key: str}
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    write("model.safetensors", {k: v.numpy() for k, v in model.state_dict().items()})

BF16 is read into float32 (numpy has no bfloat16); it is not written.
"""
import json
import struct

import numpy as np

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "BOOL": "?"}
NAMES = {np.dtype(code): name for name, code in DTYPES.items()}


def read(path):
    """Returns ({name: numpy array}, {metadata key: value}) in the file's order of names."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    body = memoryview(data)[8 + length:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        if entry["dtype"] == "BF16":  # the upper half of a float32's bits
            bits = np.frombuffer(body[begin:end], dtype="<u2").astype(np.uint32) << 16
            tensors[name] = bits.view(np.float32).reshape(shape)
        else:
            tensors[name] = np.frombuffer(body[begin:end], dtype=DTYPES[entry["dtype"]])
            tensors[name] = tensors[name].reshape(shape).copy()
    return tensors, metadata


def write(path, tensors, metadata=None):
    """Writes {name: array-like} (numpy arrays, or CPU torch tensors without grad) in that order;
    metadata values are turned into strings."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in tensors.items():
        array = np.asarray(value)
        code = np.dtype(array.dtype).newbyteorder("<")
        if code not in NAMES:
            raise ValueError(f"{name}: dtype {array.dtype} has no safetensors name here")
        blob = np.ascontiguousarray(array, dtype=code).tobytes()
        header[name] = {"dtype": NAMES[code], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
