#!/usr/bin/env python3
"""The PyTorch side of `deno task bench:torch` (bench/torch_compare.ts).

Reads a JSON list of jobs on stdin, times each one and prints one JSON object per line:
{"id": ..., "seconds": s} (seconds per call: the fastest of short batches after a warm-up, as
bench/_timing.ts times our side), then {"torch": version, "threads": n, "blas": ...} last.

A job: {"id", "kind": "step" | "eval", "variant", "sizes": [d, n_1, ..., c], "teacher": [d, m_1,
..., c] (eval), "batch", "dtype": "f32" | "f64", "n_train", "n_eval", "warm_ms", "run_ms"}.
Variants of a step (one SGD step of the batch-mean objective 0.5 * ||y - t||^2 on a minibatch drawn
with replacement from a fixed training set, weights (inputs x outputs) and biases per layer):
- "ref": reference-style, written out: x @ W + b, relu, explicit backward, W -= lr * grad;
- "fused": hand-fused, nothing allocated per step: addmm into preallocated buffers, relu_, the
  gradient and the update in one addmm_ (alpha = -lr), index_select into a buffer;
- "autograd": loss.backward() and an in-place update under no_grad.
The "plain" evaluation of a two-layer run measures what one evaluation of ours does (analysis.ts,
without observability): on the training set the student's forward pass, MSE, full-batch gradient
norms, per-sample gradient norms and their quantiles, per-node mean squared deltas, teacher x student
correlations of the hidden layer and their summaries; on the eval set forward, MSE, correlations and
summaries; the teacher's hidden activations are computed once beforehand (ours are cached too).

Run by hand: echo '[{"id":"a","kind":"step","variant":"ref","sizes":[100,200,50],"batch":16,
"dtype":"f32","n_train":10000}]' | python3 bench/torch_bench.py
"""

import json
import re
import sys
import time

import torch

TAUS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
LR = 1e-3


def dtype_of(name):
    return torch.float32 if name == "f32" else torch.float64


def make_net(sizes, dtype, gen, requires_grad=False):
    ws, bs = [], []
    for i in range(len(sizes) - 1):
        w = torch.randn(sizes[i], sizes[i + 1], dtype=dtype, generator=gen) / sizes[i] ** 0.5
        b = torch.zeros(sizes[i + 1], dtype=dtype)
        ws.append(w.requires_grad_(requires_grad))
        bs.append(b.requires_grad_(requires_grad))
    return ws, bs


def forward(ws, bs, x):
    """Plain forward: returns the output and the post-ReLU activations of the hidden layers."""
    acts, h = [], x
    for l in range(len(ws)):
        z = h @ ws[l] + bs[l]
        if l < len(ws) - 1:
            h = torch.relu(z)
            acts.append(h)
        else:
            h = z
    return h, acts


def step_setup(job, gen, requires_grad=False):
    """A step's training set (X, Y) and student (ws, bs) of the job's sizes and precision."""
    dtype, sizes = dtype_of(job["dtype"]), job["sizes"]
    X = torch.randn(job["n_train"], sizes[0], dtype=dtype, generator=gen) * 1.5
    Y = torch.randn(job["n_train"], sizes[-1], dtype=dtype, generator=gen)
    ws, bs = make_net(sizes, dtype, gen, requires_grad)
    return X, Y, ws, bs


def step_ref(job, gen):
    B = job["batch"]
    X, Y, ws, bs = step_setup(job, gen)
    L, N = len(ws), job["n_train"]

    def step():
        idx = torch.randint(N, (B,), generator=gen)
        x, y = X[idx], Y[idx]
        out, acts = forward(ws, bs, x)
        inputs = [x] + acts
        err = (out - y) / B
        for l in reversed(range(L)):
            gw = inputs[l].t() @ err
            gb = err.sum(0)
            if l > 0:
                err = (err @ ws[l].t()) * (inputs[l] > 0)
            ws[l] -= LR * gw
            bs[l] -= LR * gb

    return step


def step_fused(job, gen):
    dtype, sizes, B = dtype_of(job["dtype"]), job["sizes"], job["batch"]
    X, Y, ws, bs = step_setup(job, gen)
    L, N = len(ws), job["n_train"]
    idx = torch.empty(B, dtype=torch.int64)
    x = torch.empty(B, sizes[0], dtype=dtype)
    y = torch.empty(B, sizes[-1], dtype=dtype)
    z = [torch.empty(B, sizes[l + 1], dtype=dtype) for l in range(L)]
    delta = [torch.empty(B, sizes[l + 1], dtype=dtype) for l in range(L)]
    gate = [torch.empty(B, sizes[l + 1], dtype=torch.bool) for l in range(L)]
    gb = [torch.empty(sizes[l + 1], dtype=dtype) for l in range(L)]
    inputs = [x] + z[:-1]

    def step():
        torch.randint(N, (B,), generator=gen, out=idx)
        torch.index_select(X, 0, idx, out=x)
        torch.index_select(Y, 0, idx, out=y)
        h = x
        for l in range(L):
            torch.addmm(bs[l], h, ws[l], out=z[l])
            if l < L - 1:
                z[l].relu_()
            h = z[l]
        err = delta[L - 1]
        torch.sub(z[L - 1], y, out=err)
        err.mul_(1.0 / B)
        for l in reversed(range(L)):
            if l > 0:
                below = delta[l - 1]
                torch.mm(err, ws[l].t(), out=below)
                torch.gt(z[l - 1], 0, out=gate[l - 1])
                below.mul_(gate[l - 1])
            torch.sum(err, 0, out=gb[l])
            ws[l].addmm_(inputs[l].t(), err, alpha=-LR)
            bs[l].add_(gb[l], alpha=-LR)
            if l > 0:
                err = delta[l - 1]

    return step


def step_autograd(job, gen):
    B = job["batch"]
    X, Y, ws, bs = step_setup(job, gen, requires_grad=True)
    params, N = ws + bs, job["n_train"]

    def step():
        idx = torch.randint(N, (B,), generator=gen)
        out, _ = forward(ws, bs, X[idx])
        loss = 0.5 * ((out - Y[idx]) ** 2).sum() / B
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LR)
                p.grad = None

    return step


def correlation_summary(t_act, s_act):
    """Teacher x student Pearson correlation of post-ReLU activations and its summaries."""
    n = t_act.shape[0]
    tc, sc = t_act - t_act.mean(0), s_act - s_act.mean(0)
    cov = tc.t() @ sc / n
    corr = cov / ((tc.pow(2).mean(0).sqrt() + 1e-8)[:, None] * (sc.pow(2).mean(0).sqrt() + 1e-8))
    corr = corr.clamp(-1, 1)
    best_student = corr.max(1)
    best_teacher = corr.max(0)
    counts = torch.stack([(corr > tau).sum(1) for tau in TAUS])
    return corr, best_student, best_teacher, counts


def eval_plain(job, gen):
    dtype, sizes, teacher = dtype_of(job["dtype"]), job["sizes"], job["teacher"]
    Xt = torch.randn(job["n_train"], sizes[0], dtype=dtype, generator=gen) * 1.5
    Xe = torch.randn(job["n_eval"], sizes[0], dtype=dtype, generator=gen) * 1.5
    tw, tb = make_net(teacher, dtype, gen)
    ws, bs = make_net(sizes, dtype, gen)
    with torch.no_grad():
        Yt, t_acts_train = forward(tw, tb, Xt)
        Ye, t_acts_eval = forward(tw, tb, Xe)
    L = len(ws)

    def split(x, y, t_acts, gradients):
        out, acts = forward(ws, bs, x)
        err = out - y
        mse = err.pow(2).mean().item()
        for h in range(L - 1):
            correlation_summary(t_acts[h], acts[h])
        if not gradients:
            return mse
        n = x.shape[0]
        inputs = [x] + acts
        delta = err
        sample_sq = torch.zeros(n, dtype=torch.float64)
        norms = []
        for l in reversed(range(L)):
            gw = inputs[l].t() @ delta / n
            gb = delta.sum(0) / n
            norms.append((gw.pow(2).sum() + gb.pow(2).sum()).sqrt().item())
            sample_sq += ((inputs[l].pow(2).sum(1) + 1) * delta.pow(2).sum(1)).double()
            if l > 0:
                delta = (delta @ ws[l].t()) * (inputs[l] > 0)
                delta.pow(2).mean(0)  # per-node mean squared delta
        sample = sample_sq.sqrt()
        torch.quantile(sample, torch.tensor([0.5, 0.9, 0.99], dtype=torch.float64))
        sample.max().item(), sample.mean().item()
        return mse, norms

    def evaluate():
        split(Xt, Yt, t_acts_train, True)
        split(Xe, Ye, t_acts_eval, False)
        ws[L - 1].norm(dim=1)  # fan-out norms

    return evaluate


BUILDERS = {
    ("step", "ref"): step_ref,
    ("step", "fused"): step_fused,
    ("step", "autograd"): step_autograd,
    ("eval", "plain"): eval_plain,
}


def time_call(fn, warm_ms, run_ms):
    """Seconds per call: warm up, then batches of about 1 ms; the fastest batch counts."""
    t0, calls = time.perf_counter(), 0
    while (time.perf_counter() - t0) * 1e3 < warm_ms:
        fn()
        calls += 1
    per_ms = calls / max(1e-9, (time.perf_counter() - t0) * 1e3)
    batch = max(1, int(per_ms + 0.999))
    best = float("inf")
    t0 = time.perf_counter()
    while (time.perf_counter() - t0) * 1e3 < run_ms:
        b0 = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, (time.perf_counter() - b0) / batch)
    return best


def loaded_blas():
    """The BLAS libraries this process has loaded (from /proc/self/maps), or torch's build info."""
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({l.split()[-1] for l in f if "blas" in l.lower() and "/" in l})
        if libs:
            return ", ".join(libs)
    except OSError:
        pass
    m = re.search(r"BLAS_INFO=([^,]+)", torch.__config__.show())
    return f"BLAS_INFO={m.group(1)}" if m else "unknown"


def main():
    torch.set_num_threads(1)
    jobs = json.load(sys.stdin)
    gen = torch.Generator().manual_seed(1)
    for job in jobs:
        build = BUILDERS.get((job["kind"], job["variant"]))
        if build is None:
            raise SystemExit(f"unknown job kind/variant: {job['kind']}/{job['variant']}")
        if job["kind"] == "eval":
            with torch.no_grad():
                fn = build(job, gen)
                s = time_call(fn, job.get("warm_ms", 200), job.get("run_ms", 1000))
        else:
            fn = build(job, gen)
            s = time_call(fn, job.get("warm_ms", 200), job.get("run_ms", 1000))
        print(json.dumps({"id": job["id"], "seconds": s}), flush=True)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "blas": loaded_blas()}), flush=True)


if __name__ == "__main__":
    main()
