"""PyTorch eager reference for the harness benchmark (same models, batch, threads).

Prints one JSON line per model and layout: {"model", "layout", "images_per_sec",
"step_ms", "peak_mem_mib" (torch.cuda.max_memory_allocated on CUDA, else null), ...}.
Used by `scripts/benchmark` (the Rust side is `cargo run --release -p repro --example
bench`) and by `scripts/gpu-check`, which runs it with the GPU machine's own python3
and torch; it needs nothing but torch.
"""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        h = self.b2(self.c2(h))
        s = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
        if self.extra:
            s = F.pad(s, (0, 0, 0, 0, 0, self.extra))
        return F.relu(h + s)


class CifarResNet(nn.Module):
    """He et al. 2015 Sec. 4.2, option A: the same network the harness builds."""

    def __init__(self, depth):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, c = [], 16
        for s, planes in enumerate([16, 32, 64]):
            for b in range(n):
                layers.append(Block(c, planes, 2 if s > 0 and b == 0 else 1))
                c = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = F.relu(self.bn(self.stem(x)))
        h = self.layers(h)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class Convnet(nn.Module):
    """cuda-convnet's 3-conv CIFAR net (conv 32-32-64 5x5, pools max/avg/avg 3/2, fc 10)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 5, 1, 2)
        self.c2 = nn.Conv2d(32, 32, 5, 1, 2)
        self.c3 = nn.Conv2d(32, 64, 5, 1, 2)
        self.fc = nn.Linear(64 * 4 * 4, 10)
        # The harness's init for this net (cuda-convnet's layer files: weights
        # N(0, initW) with initW 1e-4, 1e-2, 1e-2, 1e-2, zero biases). With
        # PyTorch's default init instead the two sides would not do the same
        # arithmetic: the 1e-4 first layer gives tiny activations and gradients,
        # and denormal floats are slow on CPUs.
        for layer, std in zip([self.c1, self.c2, self.c3, self.fc], [1e-4, 1e-2, 1e-2, 1e-2]):
            nn.init.normal_(layer.weight, std=std)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.c1(x)), 3, 2, ceil_mode=True)
        h = F.avg_pool2d(F.relu(self.c2(h)), 3, 2, ceil_mode=True)
        h = F.avg_pool2d(F.relu(self.c3(h)), 3, 2, ceil_mode=True)
        return self.fc(h.flatten(1))


def build(name):
    return Convnet() if name == "convnet" else CifarResNet(int(name.split("-")[1]))


def bench(name, layout, batch, warmup, steps, device, bf16=False):
    torch.manual_seed(0)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    model = build(name).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    # The harness's inputs: 0-255 pixels less the per-pixel mean (std about 64).
    x = 64.0 * torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    def step():
        opt.zero_grad(set_to_none=True)
        # bf16 autocast as the harness's --bf16: forward under autocast, loss in fp32.
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / steps
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {"side": "pytorch-eager", "model": name, "layout": layout, "batch": batch,
            "images_per_sec": batch / dt, "step_ms": 1e3 * dt, "peak_mem_mib": peak,
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "precision": "bf16-autocast" if bf16 else ("tf32" if torch.backends.cudnn.allow_tf32 else "fp32")}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="convnet,resnet-20,resnet-56,resnet-110")
    ap.add_argument("--layouts", default="nchw,channels_last")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (not the papers' fp32)")
    ap.add_argument("--tf32", action="store_true", help="TF32 products on CUDA (not the papers' fp32)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    # The harness's fp32 is strict fp32 on CUDA (cuDNN's default allows TF32).
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    # As the harness's training runs on CUDA (experiment.rs): cuDNN picks its
    # fastest convolution algorithms per shape.
    torch.backends.cudnn.benchmark = True
    dev = torch.device(a.device)
    for m in a.models.split(","):
        for layout in a.layouts.split(","):
            print(json.dumps(bench(m, layout, a.batch, a.warmup, a.steps, dev, a.bf16)), flush=True)
