#!/usr/bin/env bash
# Reproduces the README's shortcut table (issue 8: the notes' recurrent network "with shortcuts", the
# input also wired straight to the output layer): every cell, without and with --shortcut, at one
# small budget shared by all runs: IMDB sentiment (test accuracy) and Tiny Shakespeare characters
# (test loss, nats per character). Each run exports into its own run folder, not saved_models/. Every
# run is resumable: rerun this script after an interruption and finished runs return at once.
#   ZOO_DATA_DIR=../shared/data bash scripts/shortcut_results.sh
set -euo pipefail
IMDB=(--vocab-size 20000 --max-length 200 --embedding-dim 128 --units 64 --num-layers 1 --bidirectional false
      --pooling max --dropout 0.5 --epochs 2 --patience 0 --batch-size 32 --seed 0 --verbose 2)
SHAKESPEARE=(--units 256 --num-layers 1 --embedding-dim 64 --dropout 0.2 --seq-len 100 --epochs 2 --patience 0
             --batch-size 64 --seed 0 --verbose 2)
for cell in elman gru peephole_lstm; do
  for shortcut in off on; do
    zoo train sentiment --cell "$cell" --shortcut "$shortcut" "${IMDB[@]}" \
        --run-dir "runs/shortcut_imdb_${cell}_${shortcut}"
    zoo train generator --cell "$cell" --shortcut "$shortcut" "${SHAKESPEARE[@]}" \
        --run-dir "runs/shortcut_shakespeare_${cell}_${shortcut}"
  done
done
