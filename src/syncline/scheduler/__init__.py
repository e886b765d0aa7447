"""Source side: run table resolvers and produce a message stream."""

from syncline.scheduler.scheduler import Resolver, Scheduler, SchedulerOptions

__all__ = ["Resolver", "Scheduler", "SchedulerOptions"]
