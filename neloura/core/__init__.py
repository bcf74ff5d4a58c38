"""Pure computation: numpy, astropy, photutils. Never fastapi, never settings, never runtime."""
