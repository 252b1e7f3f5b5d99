#!/usr/bin/env bash
# stats of a gate log: per path on/off median (min-max), rounds on>off; ovl/und off and on medians
f=$1
med() { sort -g | awk '{a[NR]=$1} END {printf "%.3f (%.3f-%.3f) n=%d", NR%2?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2, a[1], a[NR], NR}'; }
for p in u o; do
  echo "$p on/off: $(grep '^round' $f | grep -oE " $p off [0-9]+ on [0-9]+ on/off [0-9.]+" | awk '{print $7}' | med); higher: $(grep '^round' $f | grep -oE " $p off [0-9]+ on [0-9]+ on/off [0-9.]+" | awk '$7>1' | wc -l)"
  echo "$p off Mbit/s: $(grep '^round' $f | grep -oE " $p off [0-9]+" | awk '{print $3}' | med) on: $(grep '^round' $f | grep -oE " $p off [0-9]+ on [0-9]+" | awk '{print $5}' | med)"
done
echo "ovl/und off: $(grep -oE 'ovl/und off [0-9.]+' $f | awk '{print $3}' | med)  on: $(grep -oE 'ovl/und off [0-9.]+ on [0-9.]+' $f | awk '{print $5}' | med)"
