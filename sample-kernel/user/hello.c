/* hello - says hello and exits with its argument (the proc scenario checks the status). */
#include "ulib.h"

int main(long arg)
{
	printf("hello %ld from pid %d", arg, getpid());
	return (int)arg;
}
