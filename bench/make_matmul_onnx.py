"""Writes bench/matmul.onnx: one MatMul, A [M, K] x B [K, N] -> C [M, N], float32, all dims dynamic.

Run with /usr/bin/python3 (needs only the `onnx` package); the result is committed so the bench
itself needs no Python.
"""
from pathlib import Path

import onnx
from onnx import TensorProto, helper

graph = helper.make_graph(
    [helper.make_node("MatMul", ["A", "B"], ["C"])],
    "matmul",
    [
        helper.make_tensor_value_info("A", TensorProto.FLOAT, ["M", "K"]),
        helper.make_tensor_value_info("B", TensorProto.FLOAT, ["K", "N"]),
    ],
    [helper.make_tensor_value_info("C", TensorProto.FLOAT, ["M", "N"])],
)
# opset 14: the same as the model bundle's graph
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], producer_name="dllm-batch bench")
onnx.checker.check_model(model)
out = Path(__file__).with_name("matmul.onnx")
onnx.save(model, str(out))
print(f"wrote {out} ({out.stat().st_size} bytes)")
