/* STUB */
#include "security.h"
