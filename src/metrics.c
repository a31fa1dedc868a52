/*
 * metrics.c - placeholder; see its header.
 */
#include "config.h"
