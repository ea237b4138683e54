/* A program that goes on running without its main thread: main starts a
   thread and ends with pthread_exit, as some daemons do. ps shows it as
   "Zl", "[headless] <defunct>"; /proc/<pid>/exe and cmdline are empty
   until one reads them through a thread still running
   (TestLiveProcessesHeadless). */
#include <pthread.h>
#include <unistd.h>

static void *idle(void *arg) {
	for (;;)
		pause();
	return arg;
}

int main(void) {
	pthread_t t;
	if (pthread_create(&t, 0, idle, 0) != 0)
		return 1;
	pthread_exit(0);
}
