"""防止返贫监测帮扶工作台: a township desktop program for monitoring and assistance."""

__version__ = "0.1.0"
APP_NAME = "防止返贫监测帮扶工作台"
