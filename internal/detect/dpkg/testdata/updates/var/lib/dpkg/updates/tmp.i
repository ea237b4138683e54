Package: kesl
Status: purge ok not-inst