#!/usr/bin/env bash
# Trains the style pack in the background, resumably: each style's recipe in turn, continuing its
# checkpoint when there is one and skipping styles already finished. The finished files land in
# runs/pack/NAME/NAME.safetensors; copy them to weights/ once looked at (train/README.md).
#
#   nohup nice -n 19 train/pack.sh starry_night great_wave ... > runs/pack/lane1.log 2>&1 &
#
# Several lanes may run side by side on different styles; OMP_NUM_THREADS (default 1) is each lane's share.
set -u
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export NSTVIDEO_VGG_WEIGHTS="${NSTVIDEO_VGG_WEIGHTS:-$PWD/../shared/models/vgg16_imagenet_caffe_relu4_3.fp16.safetensors}"
for name in "$@"; do
    out="runs/pack/$name/$name.safetensors"
    [ -f "$out" ] && { echo "$name: done ($out)"; continue; }
    resume=()
    [ -f "runs/pack/$name/checkpoint.pt" ] && resume=(--resume)
    echo "$name: $(date -u +%FT%TZ) ${resume[*]:-start}"
    .venv/bin/nstvideo train --recipe "train/$name.toml" --out "$out" --progress jsonl "${resume[@]}" \
        > "runs/pack/$name.jsonl" || { echo "$name: stopped (exit $?)"; exit 1; }
    echo "$name: $(date -u +%FT%TZ) finished"
done
