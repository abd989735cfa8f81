#!/bin/sh
echo asset
