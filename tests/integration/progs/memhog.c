/* memhog: the memory experiment of the founding thesis. Allocates and
 * touches memory in 10 MB steps, printing each step before the next one,
 * up to MAX MB (argument, default 200). Under a memory limit it is
 * OOM-killed part way; without one it prints "survived". With a second
 * argument "hold" it then keeps the memory until killed. Built static so
 * it runs inside a busybox container. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STEP (10 * 1024 * 1024)

int main(int argc, char **argv)
{
    int max_mb = argc > 1 ? atoi(argv[1]) : 200;
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int mb = 10; mb <= max_mb; mb += 10) {
        char *p = malloc(STEP);
        if (!p) {
            printf("malloc failed at %d MB\n", mb);
            return 1;
        }
        /* Touch every page so the memory is really charged. */
        for (size_t i = 0; i < STEP; i += 4096)
            p[i] = (char)i;
        printf("allocated %d MB\n", mb);
    }
    printf("survived %d MB\n", max_mb);
    while (argc > 2 && strcmp(argv[2], "hold") == 0)
        pause();
    return 0;
}
