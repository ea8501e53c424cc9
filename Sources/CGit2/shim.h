#ifndef COFFER_CGIT2_SHIM_H
#define COFFER_CGIT2_SHIM_H
#include <git2.h>
#endif
