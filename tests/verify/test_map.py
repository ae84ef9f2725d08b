"""The regime map (B2): batched cells, theoretical boundaries, the heatmap and its command."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from verify.cli import main
from verify.regime_map import (
    DEFAULT_ALPHAS,
    DEFAULT_HURSTS,
    MapGrid,
    compute_map,
    critical_alpha,
    default_grid,
    save_map,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = dict(alphas=(0.1, 0.75, 1.2), hursts=(0.2, 0.8), depth=128, width=8, n_draws=2,
            n_inputs=3, seed=3)


@pytest.fixture(scope="module")
def tiny_map():
    return compute_map(MapGrid(**TINY))


def test_default_grid_is_b2() -> None:
    g = default_grid()
    assert len(g.alphas) == 70 and (g.alphas[0], g.alphas[-1]) == (0.0, 1.3)
    assert len(g.hursts) == 51 and g.hursts[0] == 0.05 and g.hursts[-1] == pytest.approx(0.97)
    assert (g.depth, g.width, g.n_draws, g.n_inputs) == (1000, 40, 5, 10)
    assert g.include_iid and g.include_smooth and len(g.rows()) == 53
    assert DEFAULT_ALPHAS == g.alphas and DEFAULT_HURSTS == g.hursts


def test_theoretical_boundaries() -> None:
    assert critical_alpha("iid") == 0.5
    assert critical_alpha("smooth") == 1.0
    assert critical_alpha("fbm", 0.3) == 0.3
    with pytest.raises(ValueError, match="hurst=None"):
        critical_alpha("fbm")
    with pytest.raises(ValueError, match="kind='rbf'"):
        critical_alpha("rbf")


def test_rows_shapes_and_labels(tiny_map) -> None:
    m = tiny_map
    assert m.row_kinds == ("iid", "fbm", "fbm", "smooth")
    assert m.row_labels == ["i.i.d.", "H=0.2", "H=0.8", "smooth"]
    assert m.boundary == (0.5, 0.2, 0.8, 1.0)
    for arr in (m.hidden, m.gradient, m.exploded):
        assert arr.shape == (4, 3)
    # only the most explosive cell (smooth weights, alpha = 0.1: L^0.9 growth rate) overflows
    assert np.isfinite(m.hidden[:, 1:]).all() and (m.exploded[:, 1:] == 0).all()
    assert (m.exploded[:3] == 0).all()


def test_map_follows_the_theory(tiny_map) -> None:
    """|h_L - h_0| / |h_0| ~ L^(alpha* - alpha): decreasing in alpha, larger for more regular
    weights; the gradient ratio tends to 1 (log 0) deep in the identity regime."""
    h, g = tiny_map.hidden, tiny_map.gradient
    assert (h[:, 0] > h[:, 2] + 1.0).all()  # 128^(1.1) ~ 200: two decades, one demanded
    col = 1  # alpha = 0.75: between the i.i.d. (1/2) and smooth (1) boundaries
    assert h[3, col] > h[0, col] + 0.5  # smooth still moves, i.i.d. collapses
    assert h[2, col] > h[1, col] + 0.5  # H = 0.8 above H = 0.2
    assert h[1, 2] < -1.0 and h[0, 2] < -1.0  # identity well past the boundary
    assert np.abs(g[:3, 2]).max() < 0.05
    assert (g[:, 0] > g[:, 2]).all()


def test_cells_are_independent_of_their_batch(tiny_map) -> None:
    """Columns of a row are batched together: one exponent alone gives the same cell."""
    alone = compute_map(MapGrid(**{**TINY, "alphas": (0.75,)}))
    np.testing.assert_allclose(alone.hidden[:, 0], tiny_map.hidden[:, 1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(alone.gradient[:, 0], tiny_map.gradient[:, 1], rtol=1e-4,
                               atol=1e-5)


def test_deterministic(tiny_map) -> None:
    again = compute_map(MapGrid(**TINY))
    np.testing.assert_array_equal(again.hidden, tiny_map.hidden)
    other = compute_map(MapGrid(**{**TINY, "seed": 4}))
    assert not np.array_equal(other.hidden, tiny_map.hidden)


def test_overflow_is_reported_as_explosion() -> None:
    m = compute_map(MapGrid(alphas=(0.0,), hursts=(), include_iid=False, depth=400, width=8,
                            n_draws=1, n_inputs=2))
    assert m.row_kinds == ("smooth",)
    assert m.exploded[0, 0] == 1.0 and m.hidden[0, 0] == math.inf


def test_save_map_png_and_numbers(tiny_map, tmp_path: Path) -> None:
    png, data = save_map(tiny_map, tmp_path / "out" / "map.png")
    raw = png.read_bytes()
    assert raw.startswith(PNG_MAGIC) and len(raw) > 20_000
    from PIL import Image

    with Image.open(png) as img:
        assert img.width > 1000 and img.height > 500
    doc = json.loads(data.read_text())
    assert doc["rows"] == tiny_map.row_labels and doc["boundary"] == [0.5, 0.2, 0.8, 1.0]
    np.testing.assert_array_equal(np.array(doc["log10_hidden_ratio"]), tiny_map.hidden)
    assert doc["grid"]["depth"] == 128 and doc["grid"]["alphas"] == [0.1, 0.75, 1.2]
    with pytest.raises(ValueError, match="must end in .png"):
        save_map(tiny_map, tmp_path / "map.svg")


def test_bad_grids() -> None:
    with pytest.raises(ValueError, match="hursts="):
        MapGrid(hursts=(0.0, 0.5))
    with pytest.raises(ValueError, match="alphas="):
        MapGrid(alphas=())
    with pytest.raises(ValueError, match="depth="):
        MapGrid(depth=0)
    with pytest.raises(ValueError, match="no rows"):
        MapGrid(hursts=(), include_iid=False, include_smooth=False)


def test_cli_map_tiny_grid(tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.png"
    argv = ["map", "--out", str(out), "--alphas", "0.2,1.0", "--hursts", "0.3,0.7", "--depth",
            "32", "--width", "5", "--draws", "2", "--inputs", "2", "--activation", "tanh",
            "--threads", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "4 rows x 2 exponents" in printed and "row 4/4" in printed
    assert out.read_bytes().startswith(PNG_MAGIC)
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["grid"]["activation"] == "tanh" and doc["grid"]["hursts"] == [0.3, 0.7]


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--activation", "tanh(x"], "not a sympy expression"),
        (["--activation", "x*y"], "exactly one variable"),
        (["--alphas", "0:1:x"], "--alphas='0:1:x' is not START:STOP:N"),
        (["--hursts", "0.5,1.5"], "hursts=[1.5] must lie in (0, 1)"),
        (["--depth", "0"], "depth=0"),
    ],
)
def test_cli_map_bad_input(tmp_path: Path, capsys, extra: list[str], match: str) -> None:
    out = tmp_path / "sub" / "m.png"
    assert main(["map", "--out", str(out), "--depth", "8", "--alphas", "0.5", *extra]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
    assert not out.parent.exists()


@pytest.mark.slow
def test_default_grid_under_ten_minutes(tmp_path: Path) -> None:
    """B2 on this machine: the full default map (53 rows x 70 exponents, depth 1000)."""
    start = time.perf_counter()
    m = compute_map(default_grid())
    save_map(m, tmp_path / "map.png")
    elapsed = time.perf_counter() - start
    assert elapsed < 600, f"default regime map took {elapsed:.0f} s (target < 600 s)"
    # the measured transition follows the boundaries: at alpha* + 0.3 the network is near
    # the identity, at alpha* - 0.3 it has moved far
    alphas = np.array(m.grid.alphas)
    for i, a_star in enumerate(m.boundary):
        left, right = np.abs(alphas - (a_star - 0.3)).argmin(), np.abs(alphas - (a_star + 0.3)
                                                                       ).argmin()
        if a_star - 0.3 >= 0:
            assert m.hidden[i, left] > m.hidden[i, right] + 1.0, m.row_labels[i]


def test_block_o_boundaries() -> None:
    assert critical_alpha("fbm", 0.3, "O") == 0.5 and critical_alpha("fbm", 0.8, "O") == 0.8
    assert critical_alpha("iid", block="O") == 0.5 and critical_alpha("smooth", block="O") == 1
    with pytest.raises(ValueError, match="block='X'"):
        MapGrid(block="X")


def test_block_o_map_follows_the_theory() -> None:
    """res-3: decreasing in alpha, smooth above i.i.d. between the boundaries, near the
    identity well past them; the boundaries recorded are max(H, 1/2), 1/2 and 1."""
    m = compute_map(MapGrid(**{**TINY, "block": "O"}))
    assert m.boundary == (0.5, 0.5, 0.8, 1.0) and m.meta["model"] == "res-3 (block O)"
    h, g = m.hidden, m.gradient
    assert (h[:, 0] > h[:, 2] + 1.0).all()
    assert h[3, 1] > h[0, 1] + 0.5 and h[2, 1] > h[1, 1] + 0.3
    assert h[1, 2] < -1.0 and h[0, 2] < -1.0 and np.abs(g[:3, 2]).max() < 0.05


def test_cells_do_not_depend_on_the_workers(tiny_map) -> None:
    two = compute_map(MapGrid(**TINY), executor="process:2")
    assert two.meta["workers"] == 2
    np.testing.assert_array_equal(two.hidden, tiny_map.hidden)
    np.testing.assert_array_equal(two.gradient, tiny_map.gradient)


def test_cli_map_block_o(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o.png"
    argv = ["map", "--out", str(out), "--alphas", "0.2,1.0", "--hursts", "0.7", "--depth",
            "16", "--width", "4", "--draws", "1", "--inputs", "2", "--block", "O", "--quiet"]
    assert main(argv) == 0
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["grid"]["block"] == "O" and doc["meta"]["model"] == "res-3 (block O)"


def test_an_interrupted_map_resumes_with_only_its_missing_rows(tiny_map, tmp_path) -> None:
    from verify.regime_map import map_rows_store

    store = tmp_path / "rows.jsonl"
    grid = MapGrid(**TINY)
    full = compute_map(grid, store=map_rows_store(store))
    lines = store.read_text().splitlines()
    assert len(lines) == 1 + len(grid.rows())
    store.write_text("\n".join(lines[:2]) + "\n")  # only the first row survived
    seen: list[str] = []
    again = compute_map(grid, store=map_rows_store(store), progress=seen.append)
    assert sum("stored" in line for line in seen) == 1
    assert sum("stored" not in line for line in seen) == len(grid.rows()) - 1
    for name in ("hidden", "gradient", "exploded"):
        np.testing.assert_array_equal(getattr(again, name), getattr(full, name))
        np.testing.assert_array_equal(getattr(full, name), getattr(tiny_map, name))
