module polylab/workload

go 1.19
