/*
 * Unsafe libc calls, poisoned so that any use fails to compile.
 * Include this last in every .c file of the project.
 */
#ifndef ARTIFACTFS_BANNED_H
#define ARTIFACTFS_BANNED_H

#pragma GCC poison strcpy strcat sprintf vsprintf strtok atoi atol gmtime
#pragma GCC poison localtime ctime asctime gets

#endif
