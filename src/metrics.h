/*
 * metrics.h - placeholder.
 */
#ifndef EVDB_METRICS_H
#define EVDB_METRICS_H
#endif
