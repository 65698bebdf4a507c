#!/usr/bin/env python3
"""Checks and describes ARM kernels from what the generators emitted.

    check_arm_kernels.py aarch64|arm DIR [--lib DIR] [--require-neon]

DIR holds the generated assembly (*.s), --lib the static libraries (*.a). For each library: every
member is an ELF object for the expected machine (AArch64 or 32-bit ARM). For each kernel's
assembly: its innermost loops (from LLVM's loop comments) and, for the main element-wise loop
(else the one with the most NEON instructions), how many instructions it has, how many are NEON
and which. With --require-neon, a
float32 kernel whose inner loops hold no NEON arithmetic fails (float64 on ARMv7 is scalar VFP:
NEON has no double-precision lanes there, so it is reported, not required). Always: no kernel may
contain a fused multiply-add (fmla/fmadd/vfma...), which strict_float rules out and which would
break bit-exactness.

"""
import argparse
import collections
import pathlib
import re
import struct
import sys

ELF_MACHINE = {"aarch64": 183, "arm": 40}
FUSED = re.compile(r"^\s+(?:fmla|fmls|fmadd|fmsub|fnmadd|fnmsub|vfma|vfms|vfnma|vfnms)\S*\s", re.MULTILINE)

# A NEON instruction: AArch64 arrangement operands (v0.4s, v1.16b) or q registers; ARMv7 q
# registers, vldN/vstN, or d registers with an integer/f32 data type (VFP f64 also uses d regs).
A64_NEON = re.compile(r"\bv\d+\.(?:\d+)?[bhsd]\b|\bq\d+\b")
A32_Q = re.compile(r"\bq\d+\b")
A32_D = re.compile(r"\bd\d+\b")
A32_NEON_TYPE = re.compile(r"\.(?:[isu](?:8|16|32|64)|f32|8|16|32|64)$")
A32_NEON_ALWAYS = re.compile(r"^v(?:ld|st)[1-4]")
ARITHMETIC = re.compile(r"^(?:f(?:mul|add|sub|cm\w+|abs|neg|max|min|rint\w)|v(?:mul|add|sub|abs|cg[te]|ceq|max|min|cvt"
                        r"|and|orr|eor|bic|bit|bif|bsl|mvn|shr|shl)|bit|bif|bsl|and|orr|eor|bic|cm\w+|[su]sh[rl]|shl|add|sub)")


def elf_machines(archive):
    """(member, e_machine) of each ELF object in an ar archive."""
    data = archive.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise ValueError(f"{archive}: not an ar archive")
    pos, out = 8, []
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode().strip()
        size = int(header[48:58].decode().strip())
        body = data[pos + 60:pos + 60 + size]
        if body.startswith(b"\x7fELF"):
            little = body[5] == 1
            out.append((name, struct.unpack("<H" if little else ">H", body[18:20])[0]))
        pos += 60 + size + (size & 1)
    return out


def is_neon(arch, mnemonic, operands):
    if arch == "aarch64":
        return bool(A64_NEON.search(operands))
    if not mnemonic.startswith("v"):
        return False
    if A32_Q.search(operands) or A32_NEON_ALWAYS.match(mnemonic):
        return True
    return bool(A32_D.search(operands) and A32_NEON_TYPE.search(mnemonic))


def inner_loops(arch, asm_text):
    """{header label: [(mnemonic, operands, is_neon)]} for every innermost loop."""
    comment = "//" if arch == "aarch64" else "@"
    loops = collections.defaultdict(list)
    names = {}
    inner = set()
    current = None  # the innermost loop of the current block
    block = None
    for line in asm_text.splitlines():
        stripped = line.strip()
        m = re.match(r"^\.L(BB\d+_\d+):\s*(?:" + re.escape(comment) + r"\s*(.*))?", line)
        if m or stripped.startswith(comment + " %bb."):
            block = m.group(1) if m else None
            current = None
            if m and m.group(2):
                names[block] = m.group(2).strip().strip('%"')
            h = re.search(r"in Loop: Header=(BB\d+_\d+)", stripped)  # "%bb.4:  @ in Loop: ..." on one line
            if h:
                current = h.group(1)
            continue
        if stripped.startswith(comment):
            h = re.search(r"This Inner Loop Header", stripped)
            if h and block:
                current = block
                inner.add(block)
            h = re.search(r"in Loop: Header=(BB\d+_\d+)", stripped)
            if h:
                current = h.group(1)
            continue
        if not line.startswith("\t") or stripped.startswith("."):
            continue
        parts = stripped.split(None, 1)
        mnemonic = parts[0]
        operands = parts[1].split(comment)[0] if len(parts) > 1 else ""
        if current:
            loops[current].append((mnemonic, operands, is_neon(arch, mnemonic, operands)))
    return {h: loops[h] for h in loops if h in inner and loops[h]}, names  # in file order


# The element-wise steady state: the loop over one task's contiguous chunk of a long row
# (per-tensor and first axes), Halide's "output.s0.x.xi.xi" (forward) or "input_backprop..." (gradient),
# or LLVM's copy of it where it unswitched a per-slice condition out of the loop (".us" suffix).
MAIN_LOOP = re.compile(r"for_(?:output|input_backprop)\.s0\.x\.xi\.xi(?:\.us\d*)?$")


def arithmetic_count(body):
    return sum(1 for m, _, n in body if n and ARITHMETIC.match(m))


def describe(arch, path):
    """The main element-wise loop (else the inner loop with the most NEON instructions)."""
    loops, names = inner_loops(arch, path.read_text())
    if not loops:
        return None
    main = [h for h in loops if MAIN_LOOP.search(names.get(h, ""))]
    if main:
        # The first one doing arithmetic (HALF_TO_EVEN comes first; ARMv7 also has a plain copy
        # loop for slices left to scalar code).
        header = next((h for h in main if arithmetic_count(loops[h])), main[0])
    else:
        header = max(loops, key=lambda h: (sum(n for _, _, n in loops[h]), len(loops[h])))
    body = loops[header]
    neon = [m for m, _, n in body if n]
    arithmetic = [m for m in neon if ARITHMETIC.match(m)]
    mix = collections.Counter(neon).most_common(8)
    return {
        "loops": len(loops),
        "loop": names.get(header, header).split("_for_", 1)[-1],
        "instructions": len(body),
        "neon": len(neon),
        "neon_arithmetic": len(arithmetic),
        "mix": ", ".join(f"{m} {c}" for m, c in mix),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch", choices=sorted(ELF_MACHINE))
    parser.add_argument("asm_dir", type=pathlib.Path)
    parser.add_argument("--lib", type=pathlib.Path)
    parser.add_argument("--require-neon", action="store_true")
    args = parser.parse_args()
    failures = []

    if args.lib:
        archives = sorted(args.lib.glob("*.a"))
        if not archives:
            failures.append(f"no static libraries in {args.lib}")
        for a in archives:
            members = elf_machines(a)
            wrong = [n for n, mach in members if mach != ELF_MACHINE[args.arch]]
            if not members or wrong:
                failures.append(f"{a.name}: not all {args.arch} ELF objects ({wrong or 'no objects'})")
        print(f"{len(archives)} libraries in {args.lib}: every member an {args.arch} ELF object"
              if not failures else "")

    kernels = sorted(p for p in args.asm_dir.glob("*.s") if "runtime" not in p.name)
    if not kernels:
        failures.append(f"no kernel assembly in {args.asm_dir}")
    print(f"{'kernel':30} {'inner loops':>11}  {'main loop':22} {'instr':>5} {'NEON':>5} {'arith':>5}  NEON mix")
    for path in kernels:
        fused = len(FUSED.findall(path.read_text()))
        if fused:
            failures.append(f"{path.name}: {fused} fused multiply-add instructions (not bit-exact)")
        d = describe(args.arch, path)
        name = path.stem.replace("_asm", "")
        if d is None:
            failures.append(f"{name}: no inner loop found")
            continue
        print(f"{name:30} {d['loops']:11}  {d['loop'][:22]:22} {d['instructions']:5} {d['neon']:5} "
              f"{d['neon_arithmetic']:5}  {d['mix']}")
        if args.require_neon and "f32" in name and d["neon_arithmetic"] == 0:
            failures.append(f"{name}: no NEON arithmetic in any inner loop")
    if not any("fused" in f for f in failures):
        print(f"no fused multiply-add in any of the {len(kernels)} kernels")
    for f in failures:
        print("FAILED:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
