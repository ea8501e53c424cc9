#ifndef COFFER_CLIBYAML_SHIM_H
#define COFFER_CLIBYAML_SHIM_H
#include <yaml.h>
#endif
