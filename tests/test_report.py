"""What the Snakemake report shows beside the results: benchmark summary and configuration."""

import pandas as pd
import yaml
from PIL import Image

from matfuse.report import draw_benchmarks, summarize_benchmarks, write_config

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(path, *rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{s}\t0:00:00\t{rss}\t0\t0\t0\t0\t0\t{load}\t{cpu}\n" for s, rss, load, cpu in rows))
    return path


def test_one_row_per_job_named_by_step_and_wildcards(tmp_path):
    root = tmp_path / "results/benchmarks"
    paths = [
        write_benchmark(root / "sample_materials.tsv", (2.5, 190.0, 40.0, 1.0)),
        # a rule benchmarked with repeat(): the mean of its runs
        write_benchmark(root / "train/image+text/gap.tsv", (60.0, 1400.0, 50.0, 30.0), (40.0, 1600.0, 30.0, 12.0)),
    ]
    summary = summarize_benchmarks(paths, root=root)
    assert summary.to_dict("records") == [
        {"step": "sample_materials", "job": "", "wall_s": 2.5, "cpu_s": 1.0, "max_rss_mb": 190.0, "mean_load": 40.0},
        {"step": "train", "job": "image+text/gap", "wall_s": 50.0, "cpu_s": 21.0, "max_rss_mb": 1500.0, "mean_load": 40.0},
    ]


def test_benchmark_figure_has_a_bar_row_per_job(tmp_path):
    summary = pd.DataFrame(
        {"step": ["train"] * 30, "job": [f"text/t{i}" for i in range(30)], "wall_s": 1.0, "cpu_s": 1.0,
         "max_rss_mb": 100.0, "mean_load": 50.0}
    )
    draw_benchmarks(summary, tmp_path / "many.png")
    draw_benchmarks(summary.head(3), tmp_path / "few.png")
    with Image.open(tmp_path / "many.png") as many, Image.open(tmp_path / "few.png") as few:
        assert many.height > 2 * few.height  # rows stay readable as jobs add up


def test_config_is_written_with_the_source_files_it_resolved_to(tmp_path):
    config = {"seed": 42, "targets": {"mag_per_volume": {"unit": "μB/Å³"}}, "modalities": ["text"]}
    write_config(config, tmp_path / "config.yaml", source_files=["/data/sample.json.bz2"])
    text = (tmp_path / "config.yaml").read_text()
    assert text.startswith("# source file: /data/sample.json.bz2\n") and "μB/Å³" in text
    assert yaml.safe_load(text) == config


def _paper_config():
    import yaml as _yaml
    from conftest import REPO

    return _yaml.safe_load((REPO / "config/config.yaml").read_text()) | {"evaluate": {"repeats": 1}}


def test_the_paper_settings_reproduce_the_study_and_any_difference_is_named(tmp_path):
    from matfuse.report import paper_differences, write_run_description

    metrics = pd.DataFrame({"combo": ["text"], "target": ["gap"], "note": [""], "baseline": [False]})
    config = _paper_config()
    assert paper_differences(config) == []
    assert paper_differences({**config, "embeddings": {"method": ["random"]}}) == []
    assert paper_differences({**config, "embeddings": {"method": ["random", "chgnet"]}}) == [
        "embeddings.method is ['random', 'chgnet'] (the paper: 'random')"
    ]
    write_run_description(config, metrics, tmp_path / "run.html")
    assert "This run reproduces the paper's study" in (tmp_path / "run.html").read_text()
    table = {**config, "data": {**config["data"], "source": "table", "n_materials": 117}}
    differences = paper_differences(table)
    assert any("data.source is 'table'" in d for d in differences)
    assert any("data.n_materials is 117" in d for d in differences)
    write_run_description(table, metrics, tmp_path / "run.html")
    assert "does <b>not</b> reproduce" in (tmp_path / "run.html").read_text()
