package main

// rssUnit converts ru_maxrss to bytes: macOS reports bytes.
const rssUnit = 1
