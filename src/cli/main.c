/* The floe command. */
#include <stdio.h>
#include <string.h>

#include "floe/floe.h"

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0) {
    printf("usage: floe <command> ...\n");
    return argc < 2 ? 2 : 0;
  }
  fprintf(stderr, "floe: unknown command '%s'\n", argv[1]);
  return 2;
}
