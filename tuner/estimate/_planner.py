"""TFLM's GreedyMemoryPlanner, re-implemented (no TFLM run) for the fast arena estimate.

Rules, as in tflite-micro `greedy_memory_planner.cc` and `micro_allocation_info.cc`:
- every non-constant, non-variable tensor of the main subgraph is a buffer; its size is
  rounded up to 16 bytes (`MicroArenaBufferAlignment`);
- lifetime: graph inputs are created at op 0, other tensors at the op that writes them; a
  tensor lives until the last op that reads it; graph outputs live until the last op;
- kernel scratch buffers live during their own op only;
- buffers are placed largest first (ties: the later buffer first, because the planner fills
  its sort array from the tail and bubble-sorts, which is stable); each goes at the lowest
  offset where it does not overlap, in both time and space, any buffer already placed;
- the planned (head) size is max(offset + size).
"""

from __future__ import annotations

from dataclasses import dataclass

ALIGN = 16


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class Buffer:
    size: int
    first: int
    last: int
    label: str = ""


def plan(buffers: list[Buffer]) -> tuple[int, list[int]]:
    """Greedy placement. Returns (arena size, offset of each buffer)."""
    n = len(buffers)
    if n == 0:
        return 0, []
    order = sorted(range(n), key=lambda i: (-buffers[i].size, -i))
    offsets = [-1] * n
    placed: list[tuple[int, int]] = []  # (offset, buffer id), kept sorted by offset (stable)
    first = order[0]
    offsets[first] = 0
    placed.append((0, first))
    for bid in order[1:]:
        want = buffers[bid]
        candidate = 0
        for off, other in placed:
            o = buffers[other]
            if o.first > want.last or want.first > o.last:
                continue  # not alive at the same time
            if off - candidate >= want.size:
                break  # the gap before this buffer is large enough
            candidate = max(candidate, off + o.size)
        offsets[bid] = candidate
        # insert after every entry with offset <= candidate (TFLM's linked-list insert)
        pos = len(placed)
        for k, (off, _) in enumerate(placed):
            if off > candidate:
                pos = k
                break
        placed.insert(pos, (candidate, bid))
    size = max(offsets[i] + buffers[i].size for i in range(n))
    return size, offsets


def tensor_buffers(graph) -> list[Buffer]:
    """Lifetimes of the planned tensors of a parsed `Graph`."""
    nops = len(graph.ops)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in graph.inputs:
        first[t] = 0
    for op in graph.ops:
        for t in op.inputs:
            if t >= 0:
                last[t] = max(last.get(t, -1), op.index)
                first.setdefault(t, op.index)
        for t in op.outputs:
            if t >= 0:
                first[t] = min(first.get(t, op.index), op.index)
    for t in graph.outputs:
        last[t] = nops - 1
    out = []
    for idx in sorted(first):
        t = graph.t(idx)
        if t.constant or t.variable or t.bytes == 0:
            continue
        out.append(Buffer(align(t.bytes), first[idx], last.get(idx, first[idx]), f"tensor {idx}"))
    return out
