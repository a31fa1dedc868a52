/*
 * version.h - the version evdb reports on /version, sys.version and --version.
 */
#ifndef EVDB_VERSION_H
#define EVDB_VERSION_H

#include "config.h"

#define EVDB_VERSION PACKAGE_VERSION

#endif /* EVDB_VERSION_H */
