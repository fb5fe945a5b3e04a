#!/usr/bin/env python3
"""The PyTorch side of skipstudio's benchmarks, driven over stdin/stdout.

Each request is one JSON line: {"net": "blocks4"|"blocks20", "precision":
"fp32"|"bf16", "batch": 32, "steps": 5, "threads": 2, "compile": false} or {"op": "add",
"iterations": 100000} or {"op": "eval", "net": ..., "precision": ...,
"images": 1000, "batch": 250, "threads": 2} or {"op": "version"}; the reply is one JSON line
with the timings in seconds. "compile" trains the model through torch.compile
(PyTorch 2.x; its first step compiles, so warm up before timing). The networks are the same specification skipstudio implements
(test/fixtures/pytorch_reference.py holds it).
"""
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test" / "fixtures"))
from pytorch_reference import HW5Net, SkipBlock  # noqa: E402


class Blocks4(nn.Module):
    """A 3x3 conv stem and 4 residual blocks of 64 channels, pooled into a classifier."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(64)
        self.blocks = nn.ModuleList([SkipBlock(64, 64) for _ in range(4)])
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        for b in self.blocks:
            x = b(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


NETS = {"blocks4": Blocks4, "blocks20": lambda: HW5Net(width=16)}
cache = {}


def setup(req):
    key = (req["net"], req["precision"], req["batch"], req.get("compile", False))
    if key not in cache:
        torch.manual_seed(0)
        model = NETS[req["net"]]()
        x = torch.randn(req["batch"], 3, 32, 32)
        if req["precision"] == "bf16":
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (req["batch"],))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        if req.get("compile", False):
            model = torch.compile(model)
        cache[key] = (model, x, y, opt)
    return cache[key]


def train_steps(req):
    torch.set_num_threads(req["threads"])
    model, x, y, opt = setup(req)
    times = []
    for _ in range(req["steps"]):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=req["precision"] == "bf16"):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    return {"times": times, "loss": float(loss)}


def eval_pass(req):
    """One evaluation pass: batches of the given images through the model in eval mode, no autograd."""
    torch.set_num_threads(req["threads"])
    key = ("eval", req["net"], req["precision"])
    if key not in cache:
        torch.manual_seed(0)
        model = NETS[req["net"]]().eval()
        x = torch.randn(req["images"], 3, 32, 32)
        if req["precision"] == "bf16":
            model = model.to(memory_format=torch.channels_last)
        cache[key] = (model, x)
    model, x = cache[key]
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=req["precision"] == "bf16"):
        for batch in x.split(req["batch"]):
            if req["precision"] == "bf16":
                batch = batch.contiguous(memory_format=torch.channels_last)
            model(batch).float().argmax(1)
    return {"seconds": time.perf_counter() - start}


def add_overhead(req):
    torch.set_num_threads(req["threads"])
    a, b = torch.ones(2, 2), torch.ones(2, 2)
    n = req["iterations"]
    start = time.perf_counter()
    for _ in range(n):
        a + b
    return {"perOp": (time.perf_counter() - start) / n}


def version(req):
    return {"version": torch.__version__, "compile": hasattr(torch, "compile")}


OPS = {"add": add_overhead, "eval": eval_pass, "version": version}
for line in sys.stdin:
    request = json.loads(line)
    reply = OPS.get(request.get("op"), train_steps)(request)
    print(json.dumps(reply), flush=True)
