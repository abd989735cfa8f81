create table runs (id integer primary key);
