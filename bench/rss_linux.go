package main

// rssUnit converts ru_maxrss to bytes: Linux reports kilobytes.
const rssUnit = 1024
