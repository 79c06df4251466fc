#!/bin/sh
# dunst's context menu asks "dmenu" to choose among lines such as
#   #Open in Security Center (Daily scan finished) [3,<id>]
# This stand-in chooses the first line that contains $DUNST_PICK (set by the test through the
# file named in $DUNST_PICK_FILE, since dunst's own environment is fixed at its start).
pick="Open in Security Center"
if [ -n "$DUNST_PICK_FILE" ] && [ -s "$DUNST_PICK_FILE" ]; then
  pick=$(cat "$DUNST_PICK_FILE")
fi
grep -m1 -F -- "$pick"
