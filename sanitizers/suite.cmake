# One sanitizer preset's suite, run from another tree's CTest
# (sanitizers/CMakeLists.txt):
#   cmake -DSOURCE=<repo> -DPRESET=asan -DTREE=<build dir> -DSTEP=build|test -P suite.cmake
#
# build: configures TREE with the preset when it has no build.ninja yet, then
#        builds the target `sanitizer_suite` only (the io tests, the repro
#        programs, repro_expect) with two jobs.
# test:  runs TREE's tests labelled `sanitizer`, then the ctxswitch repros'
#        fixed variants (their tests carry only the label `repro`).
# Prints "SKIP: ..." (a skip for CTest) when the preset's compiler or its
# sanitizer runtime is missing on this machine.
cmake_minimum_required(VERSION 3.25)
foreach(v SOURCE PRESET TREE STEP)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "suite.cmake: -D${v}= is required")
  endif()
endforeach()

if(STEP STREQUAL "build")
  # A preset whose compiler is not installed cannot be built here: skip.
  if(PRESET STREQUAL "gcc-asan")
    find_program(_cxx NAMES g++)
  else()
    find_program(_cxx NAMES clang++ clang++-14)
  endif()
  if(NOT _cxx)
    message("SKIP: no compiler for preset ${PRESET} on this machine")
    return()
  endif()
  if(NOT EXISTS ${TREE}/build.ninja)
    message(STATUS "configuring preset ${PRESET} in ${TREE}")
    execute_process(COMMAND ${CMAKE_COMMAND} --preset ${PRESET} -B ${TREE} WORKING_DIRECTORY ${SOURCE}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
      if(out MATCHES "libclang_rt|sanitizer runtime|cannot find -lasan|cannot find -ltsan")
        message("SKIP: the ${PRESET} runtime is not installed (libclang-rt-14-dev):\n${out}")
        return()
      endif()
      message(FATAL_ERROR "configure of preset ${PRESET} failed:\n${out}")
    endif()
  endif()
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${TREE} --target sanitizer_suite --parallel 2
                  RESULT_VARIABLE rc)
  string(TIMESTAMP t1 "%s")
  math(EXPR dt "${t1} - ${t0}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "build of sanitizer_suite in ${TREE} failed")
  endif()
  message(STATUS "sanitizer_suite of ${PRESET} built in ${dt} s")
elseif(STEP STREQUAL "test")
  if(NOT EXISTS ${TREE}/build.ninja)
    message("SKIP: ${TREE} was not configured (see sanitizer.${PRESET}.build)")
    return()
  endif()
  set(failed "")
  execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${TREE} -L sanitizer -j 2 --output-on-failure
                          --no-tests=error --timeout 600
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(APPEND failed "label sanitizer")
  endif()
  execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${TREE} -R "^ctxswitch\\..*fixed" -j 2
                          --output-on-failure --no-tests=error --timeout 600
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(APPEND failed "ctxswitch fixed variants")
  endif()
  if(failed)
    message(FATAL_ERROR "${PRESET}: failures in ${failed} (the output above names them)")
  endif()
else()
  message(FATAL_ERROR "suite.cmake: STEP must be build or test, got '${STEP}'")
endif()
