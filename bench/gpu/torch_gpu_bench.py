"""PyTorch's fake-quantize kernels on the GPU, timed like bench/gpu/cuda_bench.cpp (median of
synchronised runs, GB/s and ratio to a device-to-device copy of the same bytes, same run).
Prints a table and CSV lines (prefix "csv,")."""
import statistics
import sys
import time

import torch


def median_seconds(fn, reps):
    fn()
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    if not torch.cuda.is_available():
        print("torch GPU benchmark skipped: no CUDA device")
        return
    max_log2 = int(sys.argv[1]) if len(sys.argv) > 1 else 28
    print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__)
    for lg in range(20, max_log2 + 1, 2):
        n = 1 << lg
        x = torch.rand(n, device="cuda") * 4 - 2
        out = torch.empty_like(x)
        reps = 10 if lg >= 26 else 30
        nbytes = n * 4
        t_copy = median_seconds(lambda: out.copy_(x), reps)
        copy_bw = 2 * nbytes / t_copy

        def report(name, t, streams):
            bw = streams * nbytes / t
            print(f"{name:34s} {lg:6d} {t * 1e6:10.1f} {bw / 1e9:10.1f} {bw / copy_bw:8.3f}")
            print(f"csv,{name},{lg},{t * 1e6:.3f},{bw / 1e9:.2f},{bw / copy_bw:.4f}")

        report("torch_d2d_copy", t_copy, 2)
        scale, zp = 3.5 / 255, 0
        report("torch_fake_quant_per_tensor",
               median_seconds(lambda: torch.fake_quantize_per_tensor_affine(x, scale, zp, -128, 127), reps), 2)
        rows = x.view(n // 1024, 1024)
        scales = torch.full((1024,), scale, device="cuda")
        zps = torch.zeros(1024, dtype=torch.int32, device="cuda")
        report("torch_fake_quant_per_channel_last_1024",
               median_seconds(lambda: torch.fake_quantize_per_channel_affine(rows, scales, zps, 1, -128, 127), reps), 2)
        xg = x.clone().requires_grad_(True)
        g = torch.ones_like(x)

        def backward():
            y = torch.fake_quantize_per_tensor_affine(xg, scale, zp, -128, 127)
            (grad,) = torch.autograd.grad(y, xg, g)
            return grad

        t_fb = median_seconds(backward, reps)
        report("torch_fake_quant_forward+backward", t_fb, 5)
        del x, out, rows, xg, g
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
