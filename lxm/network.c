/* STUB */
#include "network.h"
