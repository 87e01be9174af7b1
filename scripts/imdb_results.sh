#!/usr/bin/env bash
# Reproduces the README's IMDB results table: one recipe (picked on the validation split), the three
# cells, the rating head, then the ensembles (the shipped model averages the GRU and the peephole LSTM
# and replaces the GRU's own export in saved_models/imdb_sentiment; the Elman run is the shipped fast
# model, saved_models/imdb_sentiment_fast). Every run is resumable: rerun this script after an interruption and
# finished runs return at once (they still re-evaluate and re-export).
#   ZOO_DATA_DIR=../shared/data bash scripts/imdb_results.sh
set -euo pipefail
RECIPE=(--vocab-size 20000 --max-length 800 --embedding-dim 128 --units 64 --bidirectional true
        --pooling max --dropout 0.5 --pretrain word2vec --epochs 8 --patience 2 --monitor val_loss
        --batch-size 32 --seed 0 --verbose 2)
zoo train sentiment --cell gru "${RECIPE[@]}" --run-dir runs/imdb_gru --export-dir saved_models/imdb_sentiment
zoo train sentiment --cell peephole_lstm "${RECIPE[@]}" --run-dir runs/imdb_peephole_lstm
zoo train sentiment --cell elman "${RECIPE[@]}" --run-dir runs/imdb_elman --export-dir saved_models/imdb_sentiment_fast
zoo train sentiment --cell gru --head rating "${RECIPE[@]}" --monitor val_loss --run-dir runs/imdb_gru_rating
zoo ensemble sentiment runs/imdb_gru runs/imdb_peephole_lstm runs/imdb_elman --run-dir runs/imdb_ensemble3
zoo ensemble sentiment runs/imdb_gru runs/imdb_peephole_lstm --run-dir runs/imdb_ensemble --export-dir saved_models/imdb_sentiment
