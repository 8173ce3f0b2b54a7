/*
 * `artifactfs check`: validates a manifest without touching the network
 * and prints the tree it would mount.
 */
#ifndef ARTIFACTFS_CHECK_H
#define ARTIFACTFS_CHECK_H

/*
 * Loads MANIFEST_PATH ("-" for stdin), choosing CONTAINER (NULL when the
 * manifest has one container with artifacts).  When it is valid, prints one
 * line per file to stdout, sorted by path (bytewise):
 *   MODE<TAB>PATH<TAB>SOURCE<TAB>CHECKSUM
 * with SOURCE the URL as url_redact() shows it and CHECKSUM "type:hex" or
 * "-", and returns 0.  Otherwise prints one line per fault to stderr and
 * returns 2.  The return value is the command's exit status.
 */
int check_run(const char *manifest_path, const char *container);

#endif
