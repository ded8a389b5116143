#!/usr/bin/env bash
# System packages the test suite uses: Debian's Chromium for the browser tests, poppler and a CJK font
# for the classroom handouts. Installed only when
# missing and only where we may (root with apt); elsewhere the browser tests skip and say why.
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)      # handout PDFs -> PNG in the tests
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)  # Chinese handouts
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null && exit 0
fi
echo "note: could not install ${need[*]}; browser tests will be skipped" >&2
exit 0
