# libFuzzer targets. Built only in a clang tree configured with
# FAULTLINE_FUZZ=ON (preset `clang-fuzz`, which compiles everything with
# -fsanitize=fuzzer-no-link,address,undefined so the parsers are
# instrumented); elsewhere faultline_add_fuzzer() does nothing.
#
#   faultline_add_fuzzer(fuzz_cbor SOURCES fuzz_cbor.cc LIBS fl_relay_proto
#                        CORPUS ${dir}...)   # seed directories, optional
#
# Every fuzzer is listed in <build>/fuzz/fuzzers.txt as "name<TAB>exe<TAB>corpus dirs"
# so that relay/fuzz/run_fuzzers.sh can run each for a bounded time.
option(FAULTLINE_FUZZ "Build libFuzzer targets (clang only)" OFF)

if(FAULTLINE_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "FAULTLINE_FUZZ needs clang (libFuzzer); use the clang-fuzz preset")
endif()

set(FAULTLINE_FUZZ_LIST ${PROJECT_BINARY_DIR}/fuzz/fuzzers.txt)
if(FAULTLINE_FUZZ)
  file(WRITE ${FAULTLINE_FUZZ_LIST} "")
endif()

function(faultline_add_fuzzer name)
  if(NOT FAULTLINE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(F "" "" "SOURCES;LIBS;CORPUS" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_LIBS} faultline_warnings)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  string(REPLACE ";" " " corpus "${F_CORPUS}")
  file(APPEND ${FAULTLINE_FUZZ_LIST} "${name}\t${CMAKE_CURRENT_BINARY_DIR}/${name}\t${corpus}\n")
endfunction()
