/* `floe mirror` (the daemon) and `floe drop`. */
#ifndef FLOE_CLI_MIRROR_H
#define FLOE_CLI_MIRROR_H

/* argv[0] is "mirror" / "drop". Return the exit code. */
int cli_mirror_main(int argc, char **argv);
int cli_drop_main(int argc, char **argv);

#endif
