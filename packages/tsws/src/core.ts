// tsws/core: the HTTP/1.1 server core alone (@tsws/core), for serve() in a program of your own.
export * from '@tsws/core';
