#!/usr/bin/env bash
# Reproduces the README's IMDB results table: one recipe, the three cells, then the rating head.
# Every run is resumable: rerun this script after an interruption and finished runs return at once.
#   ZOO_DATA_DIR=../shared/data bash scripts/imdb_results.sh
set -euo pipefail
RECIPE=(--vocab-size 20000 --max-length 512 --embedding-dim 128 --units 64 --bidirectional true
        --pooling max --dropout 0.3 --epochs 8 --patience 2 --batch-size 32 --seed 0 --verbose 2)
for cell in gru peephole_lstm elman; do
  zoo train sentiment --cell "$cell" "${RECIPE[@]}" --run-dir "runs/imdb_$cell"
done
zoo train sentiment --cell gru --head rating "${RECIPE[@]}" --run-dir runs/imdb_gru_rating
