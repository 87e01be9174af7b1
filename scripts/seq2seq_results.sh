#!/usr/bin/env bash
# Reproduces the README's seq2seq results: the two flagships (English->Spanish translation, addition),
# then the comparison table (every cell, without attention and with either attention, at a smaller
# budget than the flagship; each run reports greedy and beam-search BLEU). Every run is resumable:
# rerun this script after an interruption and finished runs return at once.
#   ZOO_DATA_DIR=../shared/data bash scripts/seq2seq_results.sh
set -euo pipefail
zoo train seq2seq --task translate --cell gru --attention luong --units 256 --embedding-dim 128 --dropout 0.2 \
    --epochs 6 --patience 3 --batch-size 64 --learning-rate 0.001 --seed 0 --verbose 2 \
    --run-dir runs/translate_gru_luong --export-dir saved_models/spa_eng_translator
zoo train seq2seq --task addition --cell gru --attention luong --units 128 --embedding-dim 32 --dropout 0 \
    --train-problems 300000 --batch-size 128 --learning-rate 0.002 --lr-schedule cosine --epochs 20 --patience 0 \
    --seed 0 --verbose 2 --run-dir runs/addition_gru --export-dir saved_models/addition
TABLE=(--task translate --units 128 --embedding-dim 64 --source-vocab 8000 --target-vocab 8000 --dropout 0.2
       --epochs 3 --patience 0 --batch-size 64 --learning-rate 0.002 --lr-schedule cosine --seed 0 --verbose 2)
for cell in gru peephole_lstm elman; do
  for attention in none bahdanau luong; do
    zoo train seq2seq --cell "$cell" --attention "$attention" "${TABLE[@]}" --run-dir "runs/table_${cell}_${attention}"
  done
done
