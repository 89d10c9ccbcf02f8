# Asserts that a C++ compiler rejects SOURCE for the reason in REASON (a regex
# over the diagnostics), not for any other error. Run as
#   cmake -DCXX=<compiler> -DSOURCE=<file> -DREASON=<regex> -P expect_compile_error.cmake
# A missing compiler prints "SKIP:" (the test's SKIP_REGULAR_EXPRESSION).
if(NOT CXX OR NOT EXISTS "${CXX}")
  message("SKIP: compiler '${CXX}' is not installed here")
  return()
endif()
execute_process(COMMAND "${CXX}" -std=c++20 -c "${SOURCE}" -o /dev/null
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${CXX} -c ${SOURCE}: exit ${rc}\n${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "${CXX} accepted the input-also-clobbered constraint")
endif()
if(NOT err MATCHES "${REASON}")
  message(FATAL_ERROR "${CXX} rejected the file, but not for the constraint conflict")
endif()
message("OK: ${CXX} rejects the input-also-clobbered constraint")
