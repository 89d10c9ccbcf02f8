# Warnings for faultline's own targets (not for third-party headers).
add_library(faultline_warnings INTERFACE)
target_compile_options(faultline_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wcast-align
  $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
  -Wno-missing-field-initializers)
if(FAULTLINE_WERROR)
  target_compile_options(faultline_warnings INTERFACE -Werror)
endif()
