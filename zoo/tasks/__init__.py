"""Task pipelines: data -> model -> trainer -> evaluation -> export, one module per task."""
