"""Source side: run table resolvers and produce a message stream."""

from syncline.scheduler.scheduler import Resolver, Scheduler, SchedulerOptions, sync_selected

__all__ = ["Resolver", "Scheduler", "SchedulerOptions", "sync_selected"]
