#include "job/fields.h"

#include <gtest/gtest.h>
